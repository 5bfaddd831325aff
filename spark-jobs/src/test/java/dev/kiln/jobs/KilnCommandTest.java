package dev.kiln.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.jobs.cli.ExitCodes;
import dev.kiln.jobs.cli.KilnCommand;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Command-line behaviour that needs no Spark: usage and configuration errors, exit codes. */
class KilnCommandTest {
    private static final String CONF_DIR = Path.of("").toAbsolutePath().getParent().resolve("conf").toString();

    private record Outcome(int code, String err) {}

    private static Outcome run(String... args) {
        PrintStream original = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            return new Outcome(KilnCommand.run(args), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(original);
        }
    }

    @Test
    void anUnknownDatasetIsAConfigErrorListingTheKnownOnes() {
        Outcome o = run("--conf-dir", CONF_DIR, "ingest", "flightz");
        assertEquals(ExitCodes.USAGE, o.code());
        assertTrue(o.err().contains("kiln: config error: datasets.flightz: unknown dataset 'flightz' (known: flights)"), o.err());
    }

    @Test
    void anInvalidOverrideFailsBeforeAnythingStarts() {
        Outcome o = run("--conf-dir", CONF_DIR, "--conf", "kiln.lakehouse.catalog.type=derby", "ingest", "flights");
        assertEquals(ExitCodes.USAGE, o.code());
        assertTrue(o.err().contains("kiln.lakehouse.catalog.type: expected 'embedded', 'postgres' or 'hive', got 'derby'"), o.err());

        Outcome partition = run("--conf-dir", CONF_DIR, "ingest", "flights", "--conf", "datasets.flights.partition-by=[flightdate]");
        assertEquals(ExitCodes.USAGE, partition.code());
        assertTrue(partition.err().contains("datasets.flights.partition-by[0]: unknown column 'flightdate'"), partition.err());
    }

    @Test
    void aMissingConfDirSaysWhereItLooked() {
        Outcome o = run("--conf-dir", "/nonexistent/kiln-conf", "runs");
        assertEquals(ExitCodes.USAGE, o.code());
        assertTrue(o.err().contains("no kiln.conf in /nonexistent/kiln-conf"), o.err());
    }

    @Test
    void anUnknownCommandIsAUsageError() {
        assertEquals(ExitCodes.USAGE, run("frobnicate").code());
    }
}
