package dev.kiln.jobs;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.api.Kiln;
import dev.kiln.lakehouse.fault.CrashPoint;
import dev.kiln.lakehouse.runlog.JobRun;
import dev.kiln.lakehouse.runlog.JobRunLog;
import dev.kiln.lakehouse.runlog.RunLiveness;
import dev.kiln.training.registry.ModelVersion;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Crash safety of every job that writes. Each test starts the job as its own process (as bin/kiln starts one) with
 * {@link CrashPoint} armed at a point inside its writes, kills it with SIGKILL once it stops there, re-runs the job
 * through the library API in this JVM, and compares every table the job touches with a clean run of the same job
 * on a twin pipeline: the same rows (volatile columns such as run ids, timestamps and content hashes left out, the
 * twins' names made equal), no duplicates, no registry row or alias without its artifact, and the killed run in
 * {@code ops.job_runs} as not finished.
 *
 * <p>One lakehouse for the suite, its catalog a PostgreSQL-backed metastore (a database of its own) so that this
 * JVM's session and the killed processes use it at the same time. Two twin pipelines, {@code *_killed} and
 * {@code *_clean}, over the same small file (4 sensors x 20 days, 3 unreadable rows); the tests run in pipeline order,
 * each on what the previous one left.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CrashSafetyIT {
    private static final Pattern RUN_ID = Pattern.compile("\\[kiln\\] run ([0-9a-f-]{36}) of ");
    /** Columns that differ between any two runs (ids, times, paths, content hashes, pinned versions). */
    private static final Pattern VOLATILE = Pattern.compile("(?i).*(_at|_id|^id|batch_id|_file|path|inputs|hash|table_name|set_by"
            + "|feature_set_versions|source_version|build_seconds)$");

    private static Path repo;
    private static Path work;
    private static Path root;
    private static Path confDir;
    private static Path credentials;
    private static String database;
    private static Kiln kiln;
    private static final List<String> timings = new ArrayList<>();

    @BeforeAll
    static void setUp() throws Exception {
        repo = Path.of("").toAbsolutePath().getParent();
        work = Files.createTempDirectory("kiln-crash-it");
        root = work.resolve("lake");
        confDir = Files.createDirectories(work.resolve("conf"));
        database = "kiln_crash_it_" + ProcessHandle.current().pid();
        credentials = SharedCatalogs.database(repo, database);
        Files.createDirectories(confDir.resolve("pipelines"));
        Files.copy(repo.resolve("conf/kiln.conf"), confDir.resolve("kiln.conf"));
        Files.copy(repo.resolve("conf/local.conf"), confDir.resolve("local.conf"));
        StringBuilder csv = new StringBuilder("sensor,ts,reading\n");
        for (int day = 0; day < 20; day++) {
            for (int hour = 0; hour < 24; hour += 2) {
                for (int s = 0; s < 4; s++) {
                    double reading = ((day * 7 + hour * 3 + s * 11 + (day > 14 ? 5 : 0)) % 17) / 17.0;
                    csv.append(String.format("s%d,2024-01-%02d %02d:00:00,%.4f%n", s, day + 1, hour, reading));
                }
            }
        }
        for (int i = 0; i < 3; i++) {
            csv.append("s9,2024-01-0").append(i + 1).append(" 01:00:00,unreadable\n");
        }
        Path data = Files.createDirectories(work.resolve("readings")).resolve("early.csv");
        Files.writeString(data, csv);
        StringBuilder pipeline = new StringBuilder();
        for (String twin : List.of("killed", "clean")) {
            pipeline.append("""
                    datasets.readings_%1$s {
                      source { format = csv, path = "%2$s" }
                      schema = [ { name = sensor, type = string, nullable = false }, { name = ts, type = timestamp_ntz, nullable = false },
                                 { name = reading, type = double, nullable = false } ]
                      event-time = ts
                      derived = [ { name = day, expr = "to_date(ts)" } ]
                      partition-by = [day]
                    }
                    feature-sets.stats_%1$s {
                      version = 1, entity = [sensor], source = "raw.readings_%1$s", event-time = ts, grain = day, ttl = 3d
                      features = [ { name = avg_3d, agg = "avg(reading)", window = 3d }, { name = high_rate_3d, agg = "rate(reading > 0.6)", window = 3d } ]
                    }
                    training-sets.high_%1$s {
                      events = "raw.readings_%1$s", event-time = ts, columns = [ts, sensor, reading], label = "reading > 0.6"
                      features = ["stats_%1$s:avg_3d", "stats_%1$s:high_rate_3d"]
                    }
                    models.high_%1$s {
                      task = binary-classification, training-set = high_%1$s, numeric = [], categorical = [sensor]
                      algorithm = logistic-regression
                      grids { logistic-regression { maxIter = [5] } }
                      split { train-until = "2024-01-10", validate-until = "2024-01-14" }
                      drift.thresholds { mean_shift = 0.0 }
                    }
                    """.formatted(twin, data));
        }
        Files.writeString(confDir.resolve("pipelines/twins.conf"), pipeline);
        // The re-runs and the clean twin run in this JVM, interpreted (no code generation, as the unit tests run:
        // a quarter less CPU on tiny data), and so do the killed processes (ShortJvm.INTERPRETED): where a job is
        // killed does not depend on how Spark evaluates its expressions.
        kiln = Kiln.start(Kiln.loadConfig(confDir.toString(), null, Map.of("kiln.lakehouse.root", root.toString(),
                "kiln.lakehouse.catalog.type", "postgres", "kiln.lakehouse.catalog.credentials-file", credentials.toString(),
                "kiln.spark.master", "local[1]", "spark.sql.shuffle.partitions", "2", "spark.ui.enabled", "false", "spark.ui.showConsoleProgress", "false",
                "spark.sql.codegen.wholeStage", "false", "spark.sql.codegen.factoryMode", "NO_CODEGEN")));
    }

    @AfterAll
    static void tearDown() throws Exception {
        System.out.println("CrashSafetyIT timings:\n  " + String.join("\n  ", timings));
        if (kiln != null) {
            kiln.spark().stop();
        }
        if (database != null) {
            SharedCatalogs.dropDatabase(database);
        }
    }

    @Test
    @Order(1)
    void ingestKilledBetweenTheDataAndQuarantineCommits() throws Exception {
        String killed = kill(CrashPoint.INGEST_AFTER_DATA_COMMIT, "ingest", "readings_killed");
        kiln.ingest("readings_killed");
        kiln.ingest("readings_clean");
        assertKilledRunNotFinished(killed);
        assertSameRows("raw.readings_%s", Optional.empty());
        assertSameRows("raw.readings_%s_quarantine", Optional.empty());
        assertEquals(963, kiln.table("raw.readings_killed").count() + kiln.table("raw.readings_killed_quarantine").count());
    }

    @Test
    @Order(2)
    void materializeKilledBetweenTheFeatureTableAndTheCatalog() throws Exception {
        String killed = kill(CrashPoint.MATERIALIZE_AFTER_TABLE_COMMIT, "features", "materialize", "stats_killed");
        kiln.materialize(List.of("stats_killed"));
        kiln.materialize(List.of("stats_clean"));
        assertKilledRunNotFinished(killed);
        assertSameRows("features.stats_%s__v1", Optional.empty());
        assertSameRows("features.catalog", Optional.of("feature_set"));
    }

    @Test
    @Order(3)
    void backfillKilledBetweenTheFeatureTableAndTheCatalog() throws Exception {
        String killed = kill(CrashPoint.BACKFILL_AFTER_TABLE_COMMIT, "features", "backfill", "stats_killed",
                "--from", "2024-01-05", "--to", "2024-01-08");
        kiln.backfill("stats_killed", LocalDate.parse("2024-01-05"), LocalDate.parse("2024-01-08"));
        kiln.backfill("stats_clean", LocalDate.parse("2024-01-05"), LocalDate.parse("2024-01-08"));
        assertKilledRunNotFinished(killed);
        assertSameRows("features.stats_%s__v1", Optional.empty());
        assertSameRows("features.catalog", Optional.of("feature_set"));
    }

    @Test
    @Order(4)
    void trainingSetBuildKilledBetweenTheSnapshotAndTheRegistry() throws Exception {
        String killed = kill(CrashPoint.TRAINING_SET_AFTER_SNAPSHOT, "training-set", "build", "high_killed");
        kiln.buildTrainingSet("high_killed");
        kiln.buildTrainingSet("high_clean");
        assertKilledRunNotFinished(killed);
        assertSameRows("features.training_sets", Optional.of("name"));
        assertEquals(normalized(kiln.rows(kiln.trainingSet("high_clean"))), normalized(kiln.rows(kiln.trainingSet("high_killed"))));
    }

    @Test
    @Order(5)
    void trainKilledBetweenTheRegistryRowAndTheArtifact() throws Exception {
        String killed = kill(CrashPoint.TRAIN_AFTER_REGISTRY_ROW, "train", "high_killed");
        ModelVersion again = kiln.train("high_killed");
        ModelVersion clean = kiln.train("high_clean");
        assertKilledRunNotFinished(killed);
        assertEquals(clean.version(), again.version(), "the re-run registers the version the killed run had taken");
        assertSameRows("ml.models", Optional.of("name"));
        assertEveryVersionHasItsArtifact();
        try (var staged = Files.list(root.resolve("models/high_killed/_staging"))) {
            assertEquals(List.of(), staged.toList(), "no staged artifact left behind");
        }
    }

    @Test
    @Order(6)
    void promoteKilledInsideTheAliasMerge() throws Exception {
        String killed = kill(CrashPoint.PROMOTE_IN_ALIAS_MERGE, "models", "promote", "high_killed", "1", "--alias", "champion");
        kiln.promote("high_killed", 1, "champion", Optional.empty());
        kiln.promote("high_clean", 1, "champion", Optional.empty());
        assertKilledRunNotFinished(killed);
        assertSameRows("ml.model_aliases", Optional.of("name"));
        assertEveryVersionHasItsArtifact();
    }

    @Test
    @Order(7)
    void scoreKilledInsideThePredictionsWrite() throws Exception {
        // The first scoring of the lakehouse: the kill comes while ml.predictions is being created.
        String killed = kill(CrashPoint.SCORE_IN_PREDICTIONS_WRITE, "score", "--model", "models:/high_killed@champion",
                "--from", "2024-01-15", "--to", "2024-01-20");
        kiln.scoreDays(List.of("models:/high_killed@champion"), LocalDate.parse("2024-01-15"), LocalDate.parse("2024-01-20"));
        kiln.scoreDays(List.of("models:/high_clean@champion"), LocalDate.parse("2024-01-15"), LocalDate.parse("2024-01-20"));
        assertKilledRunNotFinished(killed);
        assertSameRows("ml.predictions", Optional.of("model_name"));
        assertEquals(288, kiln.predictions().where(col("model_name").equalTo("high_killed")).count());
    }

    @Test
    @Order(8)
    void evaluateKilledAfterItsReportCommit() throws Exception {
        String killed = kill(CrashPoint.EVALUATE_AFTER_COMMIT, "evaluate", "--model", "models:/high_killed@champion",
                "--from", "2024-01-15", "--to", "2024-01-20");
        kiln.evaluate("models:/high_killed@champion", LocalDate.parse("2024-01-15"), LocalDate.parse("2024-01-20"), List.of(), 5);
        kiln.evaluate("models:/high_clean@champion", LocalDate.parse("2024-01-15"), LocalDate.parse("2024-01-20"), List.of(), 5);
        assertKilledRunNotFinished(killed);
        assertSameRows("reports.evaluation", Optional.of("model_name"));
    }

    @Test
    @Order(9)
    void driftKilledAfterItsAlertsCommit() throws Exception {
        String killed = kill(CrashPoint.DRIFT_AFTER_ALERTS, "drift", "--model", "models:/high_killed@champion",
                "--current", "2024-01-15..2024-01-20", "--no-fail-on-breach");
        dev.kiln.reports.drift.DriftWindow current = new dev.kiln.reports.drift.DriftWindow(LocalDate.parse("2024-01-15"),
                LocalDate.parse("2024-01-20"));
        kiln.drift("models:/high_killed@champion", Optional.empty(), current, Optional.empty());
        kiln.drift("models:/high_clean@champion", Optional.empty(), current, Optional.empty());
        assertKilledRunNotFinished(killed);
        assertSameRows("reports.drift", Optional.of("model_name"));
        assertSameRows("reports.data_profile", Optional.of("model_name"));
        assertSameRows("reports.data_profile_bins", Optional.of("model_name"));
        assertSameRows("reports.alerts", Optional.of("model_name"));
        assertTrue(kiln.alerts().where(col("model_name").equalTo("high_killed")).count() > 0, "the drift run breached");
    }

    /** Starts {@code kiln <args>} armed at {@code point}, kills it with SIGKILL there; returns its run id. */
    private static String kill(String point, String... args) throws Exception {
        long started = System.nanoTime();
        List<String> cmd = ShortJvm.kilnMain(repo);
        cmd.addAll(List.of("--conf-dir", confDir.toString(), "--conf", "kiln.lakehouse.root=" + root,
                "--conf", "kiln.lakehouse.catalog.type=postgres", "--conf", "kiln.lakehouse.catalog.credentials-file=" + credentials,
                "--conf", "kiln.spark.master=local[1]", "--conf", "spark.sql.shuffle.partitions=2",
                "--conf", "spark.ui.enabled=false", "--conf", "spark.ui.showConsoleProgress=false"));
        cmd.addAll(ShortJvm.interpretedConf());
        cmd.addAll(List.of(args));
        Path log = work.resolve(point + ".log");
        Path marker = work.resolve(point + ".reached");
        ProcessBuilder builder = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().put(CrashPoint.POINT_ENV, point);
        builder.environment().put(CrashPoint.MARKER_ENV, marker.toString());
        Process job = builder.start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
            while (!Files.exists(marker) && job.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertTrue(Files.exists(marker), "kiln " + String.join(" ", args) + " never reached " + point + " (alive: "
                    + job.isAlive() + "):\n" + Files.readString(log, StandardCharsets.UTF_8));
            Process kill = new ProcessBuilder("kill", "-KILL", String.valueOf(job.pid())).inheritIO().start();
            assertEquals(0, kill.waitFor());
            assertTrue(job.waitFor(30, TimeUnit.SECONDS));
            assertEquals(137, job.exitValue()); // 128 + SIGKILL
        } finally {
            job.destroyForcibly();
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        // The last run the process started is the one it was in when killed (train records a training-set run first).
        Matcher m = RUN_ID.matcher(out);
        String runId = null;
        while (m.find()) {
            runId = m.group(1);
        }
        assertTrue(runId != null, "no run id in:\n" + out);
        timings.add(String.format("%-42s killed after %.1f s", point, (System.nanoTime() - started) / 1e9));
        return runId;
    }

    /** The killed run is in ops.job_runs and shows as not finished, never as succeeded or still running. */
    private static void assertKilledRunNotFinished(String runId) {
        JobRun run = new JobRunLog(kiln.lakehouse()).find(runId).orElseThrow(() -> new AssertionError("run " + runId
                + " not in ops.job_runs"));
        assertEquals("not finished", RunLiveness.here().state(run), run.toString());
    }

    /**
     * The killed twin's rows of {@code pattern} (a table name with {@code %s} for the twin, or one table shared by
     * both twins, split by {@code twinColumn}) equal the clean twin's, and hold no duplicate.
     */
    private static void assertSameRows(String pattern, Optional<String> twinColumn) {
        List<String> out = new ArrayList<>();
        for (String twin : List.of("killed", "clean")) {
            Dataset<Row> rows = kiln.table(pattern.contains("%s") ? pattern.formatted(twin) : pattern);
            if (twinColumn.isPresent()) {
                rows = rows.where(col(twinColumn.get()).endsWith("_" + twin));
            }
            List<String> normalized = normalized(rows);
            assertFalse(normalized.isEmpty(), pattern + " has no rows of the " + twin + " twin");
            assertEquals(normalized.size(), new HashSet<>(normalized).size(), pattern + ": duplicates in the " + twin + " twin");
            out.add(String.join("\n", normalized));
        }
        assertEquals(out.get(1), out.get(0), pattern + ": the killed and re-run twin differs from the clean run");
    }

    /** Rows as sorted text without volatile columns, the twins' names made equal, doubles to 9 significant digits. */
    private static List<String> normalized(Dataset<Row> rows) {
        List<Column> kept = new ArrayList<>();
        for (String c : rows.columns()) {
            if (!VOLATILE.matcher(c).matches()) {
                kept.add(col("`" + c + "`"));
            }
        }
        return rows.select(kept.toArray(Column[]::new)).collectAsList().stream().map(r -> {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < r.size(); i++) {
                Object v = r.get(i);
                b.append(r.schema().fieldNames()[i]).append('=')
                        .append(v instanceof Double d ? String.format("%.9g", d) : String.valueOf(v)).append(' ');
            }
            return b.toString().replace("killed", "TWIN").replace("clean", "TWIN");
        }).sorted().collect(Collectors.toList());
    }

    /** No registry row and no alias without its artifact. */
    private static void assertEveryVersionHasItsArtifact() {
        for (Row r : kiln.models().select("name", "version", "artifact_path").collectAsList()) {
            assertTrue(Files.isDirectory(Path.of(java.net.URI.create(r.getString(2).startsWith("/") ? "file://" + r.getString(2)
                    : r.getString(2)))), "models:/" + r.getString(0) + "/" + r.getInt(1) + " has no artifact at " + r.getString(2));
        }
        if (kiln.lakehouse().exists(dev.kiln.training.registry.ModelRegistry.ALIASES)) {
            for (Row a : kiln.table("ml.model_aliases").select("name", "alias").collectAsList()) {
                kiln.model("models:/" + a.getString(0) + "@" + a.getString(1)); // refuses an alias whose artifact is missing
            }
        }
    }
}
