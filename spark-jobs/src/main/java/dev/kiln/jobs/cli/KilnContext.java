package dev.kiln.jobs.cli;

import static java.util.Objects.requireNonNull;

import dev.kiln.api.Kiln;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.config.KilnConfig;
import dev.kiln.lakehouse.runlog.EventLog;
import java.io.PrintStream;
import org.apache.spark.SparkContext;

/**
 * What a command runs with: the parsed configuration, Kiln (its Spark session started on first use) and the
 * output. Commands parse arguments, call {@link Kiln} and print; the work lives behind the library API.
 */
public final class KilnContext implements AutoCloseable {
    private final KilnConfig config;
    private final java.nio.file.Path confDir;
    private final String environment;
    private final java.util.Map<String, String> overrides;
    private final String arguments;
    private final PrintStream out;
    private Kiln kiln;

    KilnContext(KilnConfig config, java.nio.file.Path confDir, String environment, java.util.Map<String, String> overrides,
            String arguments, PrintStream out) {
        this.config = requireNonNull(config, "config is null");
        this.confDir = requireNonNull(confDir, "confDir is null");
        this.environment = environment;
        this.overrides = java.util.Map.copyOf(overrides);
        this.arguments = requireNonNull(arguments, "arguments is null");
        this.out = requireNonNull(out, "out is null");
    }

    public KilnConfig config() {
        return config;
    }

    /** The conf directory this command loaded (absolute), and the overlay (null: the default). */
    public java.nio.file.Path confDir() {
        return confDir.toAbsolutePath().normalize();
    }

    public String environment() {
        return environment;
    }

    /** The --conf settings given on the command line. */
    public java.util.Map<String, String> overrides() {
        return overrides;
    }

    public PrintStream out() {
        return out;
    }

    public void progress(String message) {
        out.println("[kiln] " + message);
        out.flush();
    }

    /** Kiln on a Spark session of its own, started on first use; its runs record this command line. */
    public synchronized Kiln kiln() {
        if (kiln == null) {
            progress("starting Spark (lakehouse " + config.lakehouse().root() + ")");
            kiln = Kiln.start(config).withProgress(this::progress).withRunArguments(arguments);
            kiln.spark().sparkContext().setLogLevel("WARN");
            SparkContext sc = kiln.spark().sparkContext();
            progress("Spark application " + sc.applicationId()
                    + (sc.uiWebUrl().isDefined() ? ", UI " + sc.uiWebUrl().get() : "")
                    + EventLog.location(sc).map(l -> ", event log " + l).orElse(""));
        }
        return kiln;
    }

    /** The lakehouse, for the commands that read or maintain tables directly (sql, tables, runs). */
    public Lakehouse lakehouse() {
        return kiln().lakehouse();
    }

    @Override
    public void close() {
        if (kiln != null) {
            kiln.spark().stop();
        }
    }
}
