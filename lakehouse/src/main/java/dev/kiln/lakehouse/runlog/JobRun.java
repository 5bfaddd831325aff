package dev.kiln.lakehouse.runlog;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.Optional;

/**
 * One row of {@code ops.job_runs}: what ran, with which configuration, where it ran, how it ended and how
 * many rows it moved. {@code rowsIn}, {@code rowsOut} and {@code rowsQuarantined} are null for jobs that do
 * not move rows; {@code endedAt} is null while the run is {@link Status#RUNNING} (and stays null when its
 * process died). {@code heartbeatAt} is the last time the run said it was alive, null before the first beat.
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
        Optional<String> error,
        Origin origin,
        Instant heartbeatAt) {

    public enum Status { RUNNING, SUCCEEDED, FAILED }

    /**
     * Where a run ran: the Spark application (its id, master and event log, the path the History Server
     * reads), the Kiln build (git commit) and the driver's host and process id, which tell a run that is
     * still going from one whose process is gone. Every part is null when unknown (rows written before
     * these columns existed).
     */
    public record Origin(String sparkAppId, String sparkMaster, String kilnVersion, String eventLog, String host,
            Long pid) {
        public static final Origin UNKNOWN = new Origin(null, null, null, null, null, null);
    }

    public JobRun {
        requireNonNull(runId, "runId is null");
        requireNonNull(job, "job is null");
        requireNonNull(arguments, "arguments is null");
        requireNonNull(configHash, "configHash is null");
        requireNonNull(startedAt, "startedAt is null");
        requireNonNull(status, "status is null");
        requireNonNull(error, "error is null");
        requireNonNull(origin, "origin is null");
        if (status != Status.RUNNING) {
            requireNonNull(endedAt, "endedAt is null (a finished run has an end)");
        }
    }

    /** A finished run whose origin is not known. */
    public JobRun(String runId, String job, String arguments, String configHash, Instant startedAt, Instant endedAt,
            Status status, Long rowsIn, Long rowsOut, Long rowsQuarantined, Optional<String> error) {
        this(runId, job, arguments, configHash, startedAt, endedAt, status, rowsIn, rowsOut, rowsQuarantined, error,
                Origin.UNKNOWN, null);
    }

    /** A run that has just started. */
    public static JobRun started(String runId, String job, String arguments, String configHash, Instant startedAt,
            Origin origin) {
        return new JobRun(runId, job, arguments, configHash, startedAt, null, Status.RUNNING, null, null, null,
                Optional.empty(), origin, null);
    }

    /** This run, ended at {@code at} with {@code status}. */
    public JobRun ended(Instant at, Status status, Long in, Long out, Long quarantined, Optional<String> failure) {
        return new JobRun(runId, job, arguments, configHash, startedAt, at, status, in, out, quarantined, failure,
                origin, heartbeatAt);
    }

    public Optional<Double> durationSeconds() {
        return endedAt == null ? Optional.empty()
                : Optional.of((endedAt.toEpochMilli() - startedAt.toEpochMilli()) / 1000.0);
    }
}
