package dev.kiln.jobs.cli;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.SparkSessions;
import dev.kiln.lakehouse.config.KilnConfig;
import dev.kiln.lakehouse.runlog.JobRun;
import dev.kiln.lakehouse.runlog.JobRunLog;
import java.io.PrintStream;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;

/** What a command runs with: the parsed configuration, the lakehouse (opened on first use) and the output. */
public final class KilnContext implements AutoCloseable {
    private final KilnConfig config;
    private final String arguments;
    private final PrintStream out;
    private Lakehouse lakehouse;

    KilnContext(KilnConfig config, String arguments, PrintStream out) {
        this.config = requireNonNull(config, "config is null");
        this.arguments = requireNonNull(arguments, "arguments is null");
        this.out = requireNonNull(out, "out is null");
    }

    public KilnConfig config() {
        return config;
    }

    public PrintStream out() {
        return out;
    }

    public void progress(String message) {
        out.println("[kiln] " + message);
        out.flush();
    }

    public synchronized Lakehouse lakehouse() {
        if (lakehouse == null) {
            progress("starting Spark (lakehouse " + config.lakehouse().root() + ")");
            lakehouse = new Lakehouse(SparkSessions.open(config.lakehouse()), config.lakehouse());
            lakehouse.spark().sparkContext().setLogLevel("WARN");
        }
        return lakehouse;
    }

    /** Counts of rows a job moved, for the run log. */
    public record Rows(Long in, Long out, Long quarantined) {
        public static final Rows NONE = new Rows(null, null, null);
    }

    /**
     * Runs a job and records it in {@code ops.job_runs}, whether it succeeds or fails; the failure is
     * rethrown after it is recorded.
     */
    public <T> T runJob(String job, Function<String, T> body, Function<T, Rows> rows) {
        String runId = UUID.randomUUID().toString();
        JobRunLog log = new JobRunLog(lakehouse());
        Instant start = Instant.now();
        try {
            T result = body.apply(runId);
            Rows r = rows.apply(result);
            log.record(new JobRun(runId, job, arguments, config.hash(), start, Instant.now(), JobRun.Status.SUCCEEDED,
                    r.in(), r.out(), r.quarantined(), Optional.empty()));
            return result;
        } catch (Exception e) { // Spark's checked exceptions arrive here undeclared
            RuntimeException failure = e instanceof RuntimeException r ? r
                    : new KilnException(job + ": " + KilnException.firstLine(e.getMessage()), e);
            try {
                log.record(new JobRun(runId, job, arguments, config.hash(), start, Instant.now(), JobRun.Status.FAILED,
                        null, null, null, Optional.ofNullable(failure.getMessage())));
            } catch (RuntimeException logFailure) {
                failure.addSuppressed(logFailure);
            }
            throw failure;
        }
    }

    @Override
    public void close() {
        if (lakehouse != null) {
            lakehouse.spark().stop();
        }
    }
}
