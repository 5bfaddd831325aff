package dev.kiln.bench;

import static java.util.Objects.requireNonNull;

import dev.kiln.api.Kiln;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.config.KilnConfig;
import java.io.PrintStream;

/** What a benchmark runs with: its configuration, Kiln on a session of its own (started on first use), the output. */
final class BenchContext implements AutoCloseable {
    private final KilnConfig config;
    private final String arguments;
    private final PrintStream out;
    private Kiln kiln;

    BenchContext(KilnConfig config, String arguments, PrintStream out) {
        this.config = requireNonNull(config, "config is null");
        this.arguments = requireNonNull(arguments, "arguments is null");
        this.out = requireNonNull(out, "out is null");
    }

    KilnConfig config() {
        return config;
    }

    PrintStream out() {
        return out;
    }

    void progress(String message) {
        out.println("[kiln] " + message);
        out.flush();
    }

    synchronized Kiln kiln() {
        if (kiln == null) {
            progress("starting Spark (lakehouse " + config.lakehouse().root() + ")");
            kiln = Kiln.start(config).withProgress(this::progress).withRunArguments(arguments);
            kiln.spark().sparkContext().setLogLevel("WARN");
        }
        return kiln;
    }

    Lakehouse lakehouse() {
        return kiln().lakehouse();
    }

    @Override
    public void close() {
        if (kiln != null) {
            kiln.spark().stop();
        }
    }
}
