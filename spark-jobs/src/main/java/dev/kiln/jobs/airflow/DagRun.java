package dev.kiln.jobs.airflow;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.Optional;

/**
 * One DAG run as Airflow reports it. The logical date is empty for runs triggered without one
 * (Airflow 3 allows that); start and end are empty until the run starts and ends.
 */
public record DagRun(String dagId, String runId, DagRunState state, Optional<Instant> logicalDate,
        Optional<Instant> startDate, Optional<Instant> endDate) {
    public DagRun {
        requireNonNull(dagId, "dagId is null");
        requireNonNull(runId, "runId is null");
        requireNonNull(state, "state is null");
        requireNonNull(logicalDate, "logicalDate is null");
        requireNonNull(startDate, "startDate is null");
        requireNonNull(endDate, "endDate is null");
    }

    @Override
    public String toString() {
        return dagId + " " + runId + " " + state.text();
    }
}
