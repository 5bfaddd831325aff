package dev.kiln.jobs.cli;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.SparkSessions;
import dev.kiln.lakehouse.config.KilnConfig;
import dev.kiln.lakehouse.runlog.EventLog;
import dev.kiln.lakehouse.runlog.JobRunRecorder;
import java.io.PrintStream;
import java.util.function.Function;
import org.apache.spark.SparkContext;

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
            SparkContext sc = lakehouse.spark().sparkContext();
            progress("Spark application " + sc.applicationId()
                    + (sc.uiWebUrl().isDefined() ? ", UI " + sc.uiWebUrl().get() : "")
                    + EventLog.location(sc).map(l -> ", event log " + l).orElse(""));
        }
        return lakehouse;
    }

    /** Counts of rows a job moved, for the run log. */
    public record Rows(Long in, Long out, Long quarantined) {
        public static final Rows NONE = new Rows(null, null, null);
    }

    /**
     * Runs a job and records it in {@code ops.job_runs}: a {@code running} row when it starts, its end whether it
     * succeeds or fails; the failure is rethrown after it is recorded.
     */
    public <T> T runJob(String job, Function<String, T> body, Function<T, Rows> rows) {
        JobRunRecorder.StartedRun run = new JobRunRecorder(lakehouse()).start(job, arguments, config.hash());
        progress("run " + run.runId() + " of " + job + " (kiln runs show " + run.runId() + ")");
        try {
            T result = body.apply(run.runId());
            Rows r = rows.apply(result);
            run.succeeded(r.in(), r.out(), r.quarantined());
            return result;
        } catch (Exception e) { // Spark's checked exceptions arrive here undeclared
            RuntimeException failure = e instanceof RuntimeException r ? r
                    : new KilnException(job + ": " + KilnException.firstLine(e.getMessage()), e);
            try {
                run.failed(failure.getMessage());
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
