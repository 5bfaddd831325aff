package dev.kiln.jobs.airflow;

import static java.util.Objects.requireNonNull;

/** A DAG file that Airflow's dag-processor could not import, with the error it got. */
public record ImportError(String filename, String stackTrace) {
    public ImportError {
        requireNonNull(filename, "filename is null");
        requireNonNull(stackTrace, "stackTrace is null");
    }
}
