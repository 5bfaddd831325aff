package dev.kiln.jobs.airflow;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.Optional;

/**
 * One task instance of a DAG run. The state is Airflow's text ({@code success}, {@code failed},
 * {@code upstream_failed}, {@code skipped}, {@code running}, ...), or {@code none} before it is scheduled.
 */
public record TaskInstance(String taskId, String state, int tryNumber, Optional<Instant> startDate,
        Optional<Instant> endDate, Optional<Double> durationSeconds) {
    public TaskInstance {
        requireNonNull(taskId, "taskId is null");
        requireNonNull(state, "state is null");
        requireNonNull(startDate, "startDate is null");
        requireNonNull(endDate, "endDate is null");
        requireNonNull(durationSeconds, "durationSeconds is null");
    }
}
