package dev.kiln.jobs.airflow;

import static java.util.Objects.requireNonNull;

/** A DAG known to Airflow. A paused DAG accepts triggers, but its runs stay queued until it is unpaused. */
public record Dag(String dagId, boolean paused) {
    public Dag {
        requireNonNull(dagId, "dagId is null");
    }
}
