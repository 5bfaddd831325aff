package dev.kiln.lakehouse.runlog;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.Optional;

/**
 * One row of {@code ops.job_runs}: what ran, with which configuration, how it ended and how many rows
 * it moved. {@code rowsIn}, {@code rowsOut} and {@code rowsQuarantined} are null for jobs that do not move rows.
 */
public record JobRun(
        String runId,
        String job,
        String arguments,
        String configHash,
        Instant startedAt,
        Instant endedAt,
        Status status,
        Long rowsIn,
        Long rowsOut,
        Long rowsQuarantined,
        Optional<String> error) {

    public enum Status { SUCCEEDED, FAILED }

    public JobRun {
        requireNonNull(runId, "runId is null");
        requireNonNull(job, "job is null");
        requireNonNull(arguments, "arguments is null");
        requireNonNull(configHash, "configHash is null");
        requireNonNull(startedAt, "startedAt is null");
        requireNonNull(endedAt, "endedAt is null");
        requireNonNull(status, "status is null");
        requireNonNull(error, "error is null");
    }
}
