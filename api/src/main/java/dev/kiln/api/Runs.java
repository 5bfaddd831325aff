package dev.kiln.api;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.runlog.JobRun;
import dev.kiln.lakehouse.runlog.JobRunLog;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;

/** Runs one job of the library and records it in {@code ops.job_runs}, whether it succeeds or fails. */
final class Runs {
    private Runs() {}

    /** The body gets the run id; a failure is rethrown after it is recorded. */
    static <T> T record(Lakehouse lakehouse, String configHash, String arguments, String job, Function<String, T> body,
            Function<T, JobRows> rows) {
        String runId = UUID.randomUUID().toString();
        JobRunLog log = new JobRunLog(lakehouse);
        Instant start = Instant.now();
        try {
            T result = body.apply(runId);
            JobRows r = rows.apply(result);
            log.record(new JobRun(runId, job, arguments, configHash, start, Instant.now(), JobRun.Status.SUCCEEDED,
                    r.in(), r.out(), r.quarantined(), Optional.empty()));
            return result;
        } catch (Exception e) { // Spark's checked exceptions arrive here undeclared
            RuntimeException failure = e instanceof RuntimeException r ? r
                    : new KilnException(job + ": " + KilnException.firstLine(e.getMessage()), e);
            try {
                log.record(new JobRun(runId, job, arguments, configHash, start, Instant.now(), JobRun.Status.FAILED,
                        null, null, null, Optional.ofNullable(failure.getMessage())));
            } catch (RuntimeException logFailure) {
                failure.addSuppressed(logFailure);
            }
            throw failure;
        }
    }
}
