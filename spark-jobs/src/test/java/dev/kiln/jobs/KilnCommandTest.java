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
    void unknownNamesOfEveryKindAreConfigErrorsBeforeSparkStarts() {
        String[][] cases = {
                {"features", "materialize", "nope"}, {"features", "backfill", "nope", "--from", "2001-01-01", "--to", "2001-01-02"},
                {"training-set", "build", "nope"}, {"train", "nope"}};
        String[] wants = {"unknown feature set 'nope' (known: origin_delay_stats, route_delay_stats)",
                "unknown feature set 'nope'", "unknown training set 'nope' (known: flight_delay)", "unknown model 'nope' (known: flight_delay)"};
        for (int i = 0; i < cases.length; i++) {
            String[] args = new String[cases[i].length + 2];
            args[0] = "--conf-dir";
            args[1] = CONF_DIR;
            System.arraycopy(cases[i], 0, args, 2, cases[i].length);
            Outcome o = run(args);
            assertEquals(ExitCodes.USAGE, o.code(), String.join(" ", cases[i]) + ": " + o.err());
            assertTrue(o.err().contains("kiln: config error: " + wants[i]), o.err());
            assertTrue(!o.err().contains("starting Spark") && !o.err().contains("\tat "), o.err());
        }
    }

    @Test
    void everyCommandAndGroupAnswersHelp() {
        java.util.List<String[]> paths = new java.util.ArrayList<>();
        collect(new picocli.CommandLine(new KilnCommand()), new java.util.ArrayList<>(), paths);
        assertTrue(paths.size() > 30, "commands found: " + paths.size());
        PrintStream original = System.out;
        try {
            for (String[] path : paths) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
                String[] args = java.util.Arrays.copyOf(path, path.length + 1);
                args[path.length] = "--help";
                Outcome o = run(args);
                assertEquals(ExitCodes.OK, o.code(), String.join(" ", args) + ": " + o.err());
                assertTrue(out.toString(StandardCharsets.UTF_8).contains("Usage: kiln"), String.join(" ", args));
            }
        } finally {
            System.setOut(original);
        }
    }

    /** picocli formats descriptions with String.format: a lone % only warns at run time, so every one is tried here. */
    @Test
    void everyDescriptionIsAValidFormat() {
        java.util.List<String> bad = new java.util.ArrayList<>();
        java.util.Deque<picocli.CommandLine> todo = new java.util.ArrayDeque<>(java.util.List.of(new picocli.CommandLine(new KilnCommand())));
        while (!todo.isEmpty()) {
            picocli.CommandLine cli = todo.pop();
            todo.addAll(cli.getSubcommands().values());
            java.util.List<String> texts = new java.util.ArrayList<>(java.util.List.of(cli.getCommandSpec().usageMessage().description()));
            for (picocli.CommandLine.Model.OptionSpec o : cli.getCommandSpec().options()) {
                // The annotation's own text: the spec's is already interpolated.
                if (o.userObject() instanceof java.lang.reflect.Field f && f.getAnnotation(picocli.CommandLine.Option.class) != null) {
                    texts.addAll(java.util.List.of(f.getAnnotation(picocli.CommandLine.Option.class).description()));
                }
            }
            for (String text : texts) {
                try {
                    String.format(text.replace("${DEFAULT-VALUE}", "x"));
                } catch (java.util.IllegalFormatException e) {
                    bad.add(cli.getCommandSpec().qualifiedName() + ": " + e.getMessage() + " in '" + text + "'");
                }
            }
        }
        assertEquals(java.util.List.of(), bad);
    }

    private static void collect(picocli.CommandLine cli, java.util.List<String> prefix, java.util.List<String[]> out) {
        for (java.util.Map.Entry<String, picocli.CommandLine> sub : cli.getSubcommands().entrySet()) {
            if (sub.getKey().equals("help")) {
                continue;
            }
            java.util.List<String> path = new java.util.ArrayList<>(prefix);
            path.add(sub.getKey());
            out.add(path.toArray(String[]::new));
            collect(sub.getValue(), path, out);
        }
    }

    @Test
    void anUnknownCommandIsAUsageError() {
        assertEquals(ExitCodes.USAGE, run("frobnicate").code());
    }
}
