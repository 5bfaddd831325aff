package dev.kiln.api;

import dev.kiln.lakehouse.lineage.LineageRun;
import dev.kiln.lakehouse.lineage.OpenLineageEvents;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.runlog.JobRunRecorder;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Runs one job of the library and records it in {@code ops.job_runs}: a {@code running} row when it starts, its end
 * whether it succeeds or fails (a process killed in between leaves the row running, which {@code kiln runs} shows as
 * not finished).
 */
final class Runs {
    private Runs() {}

    /** The body gets the run id; a failure is rethrown after it is recorded. */
    static <T> T record(Lakehouse lakehouse, String configHash, String arguments, String job, Consumer<String> progress,
            Function<String, T> body, Function<T, JobRows> rows) {
        return record(lakehouse, configHash, arguments, job, progress, body, rows, java.util.Optional.empty());
    }

    /** As above; with {@code lineage}, the job's OpenLineage START and COMPLETE/FAIL events, with what it read and wrote. */
    static <T> T record(Lakehouse lakehouse, String configHash, String arguments, String job, Consumer<String> progress,
            Function<String, T> body, Function<T, JobRows> rows, java.util.Optional<OpenLineageEvents> lineage) {
        JobRunRecorder.StartedRun run = new JobRunRecorder(lakehouse).start(job, arguments, configHash);
        progress.accept("run " + run.runId() + " of " + job + " (kiln runs show " + run.runId() + ")");
        LineageRun datasets = new LineageRun();
        LineageRun outer = lineage.isPresent() ? lakehouse.recordLineage(datasets) : null;
        lineage.ifPresent(l -> l.start(run.runId(), job));
        try {
            T result = body.apply(run.runId());
            JobRows r = rows.apply(result);
            run.succeeded(r.in(), r.out(), r.quarantined());
            lineage.ifPresent(l -> l.complete(run.runId(), job, datasets));
            return result;
        } catch (Exception e) { // Spark's checked exceptions arrive here undeclared
            RuntimeException failure = e instanceof RuntimeException r ? r
                    : new KilnException(job + ": " + KilnException.firstLine(e.getMessage()), e);
            try {
                run.failed(failure.getMessage());
            } catch (RuntimeException logFailure) {
                failure.addSuppressed(logFailure);
            }
            lineage.ifPresent(l -> l.fail(run.runId(), job, datasets, KilnException.firstLine(failure.getMessage())));
            throw failure;
        } finally {
            if (lineage.isPresent()) {
                lakehouse.recordLineage(outer);
            }
        }
    }
}
