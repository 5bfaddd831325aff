package dev.kiln.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Several Kiln processes at the same time on one lakehouse whose catalog is a PostgreSQL-backed Hive metastore
 * ({@code kiln.lakehouse.catalog.type = postgres}, a database of this test's own from scripts/setup-postgres.sh).
 * Each process is a separate JVM started the way bin/kiln starts one. Delta's optimistic concurrency arbitrates
 * the writes; the test checks every count afterwards. Tiny data, {@code local[1]} drivers: 2 cores. Three rounds:
 * two ingests of different datasets (also the fresh database's first use); two trainings of one model while a
 * second batch is ingested and {@code kiln sql} reads that table; scoring while the feature set is materialized
 * and {@code kiln sql} reads the registry, and a JDBC client (the distribution's Hive driver) reads
 * {@code ml.predictions} through {@code kiln sql-server} (bin/kiln, read-only): every count it sees is one a
 * committed Delta version has, a wrong password and writes and DDL are refused.
 */
class SharedCatalogIT {
    private static Path repo;
    private static Path work;
    private static Path root;
    private static Path confDir;
    private static Path credentials;
    private static String database;

    @BeforeAll
    static void setUp() throws Exception {
        repo = Path.of("").toAbsolutePath().getParent();
        work = Files.createTempDirectory("kiln-shared-it");
        root = work.resolve("lake");
        confDir = Files.createDirectories(work.resolve("conf"));
        database = "kiln_shared_it_" + ProcessHandle.current().pid();
        credentials = SharedCatalogs.database(repo, database);
        Files.createDirectories(confDir.resolve("pipelines"));
        Files.copy(repo.resolve("conf/kiln.conf"), confDir.resolve("kiln.conf"));
        Files.copy(repo.resolve("conf/local.conf"), confDir.resolve("local.conf"));
        // Two sensor datasets: a has 20 days x 12 readings x 4 sensors plus 3 unreadable rows, b the same shape
        // shifted, plus 5 unreadable rows. Every unreadable row must end in the quarantine.
        for (String name : List.of("a", "b")) {
            StringBuilder csv = new StringBuilder("sensor,ts,reading\n");
            for (int day = 0; day < 20; day++) {
                for (int hour = 0; hour < 24; hour += 2) {
                    for (int s = 0; s < 4; s++) {
                        double reading = ((day * 7 + hour * 3 + s * 11 + name.charAt(0)) % 17) / 17.0;
                        csv.append(String.format("s%d,2024-01-%02d %02d:00:00,%.4f%n", s, day + 1, hour, reading));
                    }
                }
            }
            for (int i = 0; i < (name.equals("a") ? 3 : 5); i++) {
                csv.append("s9,2024-01-0").append(i + 1).append(" 01:00:00,unreadable\n");
            }
            Files.writeString(Files.createDirectories(work.resolve("readings_" + name)).resolve("early.csv"), csv);
        }
        StringBuilder pipeline = new StringBuilder();
        for (String name : List.of("a", "b")) {
            pipeline.append("""
                    datasets.readings_%1$s {
                      source { format = csv, path = "%2$s" }
                      schema = [ { name = sensor, type = string, nullable = false }, { name = ts, type = timestamp_ntz, nullable = false },
                                 { name = reading, type = double, nullable = false } ]
                      event-time = ts
                      derived = [ { name = day, expr = "to_date(ts)" } ]
                      partition-by = [day]
                    }
                    """.formatted(name, work.resolve("readings_" + name).resolve("early.csv")));
        }
        pipeline.append("""
                feature-sets.sensor_stats {
                  version = 1, entity = [sensor], source = "raw.readings_a", event-time = ts, grain = day, ttl = 3d
                  features = [ { name = avg_3d, agg = "avg(reading)", window = 3d }, { name = high_rate_3d, agg = "rate(reading > 0.6)", window = 3d } ]
                }
                training-sets.sensor_high {
                  events = "raw.readings_a", event-time = ts, columns = [ts, sensor, reading], label = "reading > 0.6"
                  features = ["sensor_stats:avg_3d", "sensor_stats:high_rate_3d"]
                }
                models.sensor_high {
                  task = binary-classification, training-set = sensor_high, numeric = [], categorical = [sensor]
                  algorithm = logistic-regression
                  grids { logistic-regression { maxIter = [5] } }
                  split { train-until = "2024-01-10", validate-until = "2024-01-14" }
                }
                """);
        Files.writeString(confDir.resolve("pipelines/sensors.conf"), pipeline);
    }

    private static Process sqlServer;

    @AfterAll
    static void dropTheDatabase() throws Exception {
        if (sqlServer != null && sqlServer.isAlive()) {
            sqlServer.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
        if (database != null) {
            SharedCatalogs.dropDatabase(database);
        }
    }

    private record Result(String name, int exit, String output) {}

    /** A kiln process as bin/kiln starts it (the job jar and Spark's jars on a plain JVM), not yet waited for. */
    private static Process start(String name, String... kiln) throws Exception {
        List<String> cmd = ShortJvm.kilnMain(repo);
        cmd.addAll(List.of("--conf-dir", confDir.toString(), "--conf", "kiln.lakehouse.root=" + root,
                "--conf", "kiln.lakehouse.catalog.type=postgres", "--conf", "kiln.lakehouse.catalog.credentials-file=" + credentials,
                "--conf", "kiln.spark.master=local[1]", "--conf", "spark.sql.shuffle.partitions=2",
                "--conf", "spark.ui.showConsoleProgress=false"));
        cmd.addAll(ShortJvm.interpretedConf());
        cmd.addAll(List.of(kiln));
        Path log = work.resolve(name + ".log");
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** Starts all at once, waits for all; each result's output is also printed for the test log. */
    private static List<Result> together(List<String[]> commands) throws Exception {
        List<Process> running = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (String[] c : commands) {
            String name = (c[0] + "_" + c[c.length - 1]).replaceAll("[^A-Za-z0-9_]", "");
            name = name.substring(0, Math.min(40, name.length())) + "_" + System.nanoTime();
            names.add(name);
            running.add(start(name, c));
        }
        List<Result> results = new ArrayList<>();
        for (int i = 0; i < running.size(); i++) {
            Process p = running.get(i);
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                running.forEach(Process::destroyForcibly);
                throw new AssertionError("timed out: " + String.join(" ", commands.get(i)));
            }
            String out = Files.readString(work.resolve(names.get(i) + ".log"), StandardCharsets.UTF_8);
            System.out.println("$ kiln " + String.join(" ", commands.get(i)) + " (exit " + p.exitValue() + ")\n" + out);
            results.add(new Result(String.join(" ", commands.get(i)), p.exitValue(), out));
        }
        return results;
    }

    private static Result one(String... command) throws Exception {
        return together(List.<String[]>of(command)).get(0);
    }

    private static void assertSucceeded(List<Result> results) {
        for (Result r : results) {
            assertEquals(0, r.exit(), r.name() + ":\n" + r.output());
        }
    }

    /** The first line that the query's result table has after its header: "| a | b |" as a list of cells. */
    private static List<String> rows(Result r) {
        return r.output().lines().filter(l -> l.startsWith("|")).skip(1).map(String::trim).toList();
    }

    private static final String SQL_USER = "analyst";
    private static final String SQL_PASSWORD = "pw-" + Long.toHexString(new java.security.SecureRandom().nextLong());

    /** bin/kiln sql-server on a free port, its login from the environment; not yet waited for. */
    private static String startSqlServer() throws Exception {
        int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        ProcessBuilder pb = new ProcessBuilder(repo.resolve("bin/kiln").toString(), "sql-server", "--port", String.valueOf(port),
                "--conf-dir", confDir.toString(), "--conf", "kiln.lakehouse.root=" + root,
                "--conf", "kiln.lakehouse.catalog.type=postgres", "--conf", "kiln.lakehouse.catalog.credentials-file=" + credentials,
                "--conf", "kiln.spark.master=local[1]", "--conf", "spark.sql.shuffle.partitions=2",
                "--conf", "spark.ui.enabled=false");
        pb.environment().put("SPARK_HOME", System.getProperty("kiln.sparkHome"));
        pb.environment().put("KILN_SQL_USER", SQL_USER);
        pb.environment().put("KILN_SQL_PASSWORD", SQL_PASSWORD);
        pb.environment().put("KILN_DRIVER_MEMORY", "1g");
        pb.environment().put("KILN_JAVA_OPTS", "-XX:+UseSerialGC " + ShortJvm.JIT);
        sqlServer = pb.redirectErrorStream(true).redirectOutput(work.resolve("sql-server.log").toFile()).start();
        return "jdbc:hive2://127.0.0.1:" + port + "/default";
    }

    private static void awaitSqlServer() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        Path log = work.resolve("sql-server.log");
        while (!Files.readString(log, StandardCharsets.UTF_8).contains("JDBC URL ")) {
            if (!sqlServer.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("kiln sql-server did not start:\n" + Files.readString(log, StandardCharsets.UTF_8));
            }
            Thread.sleep(200);
        }
    }

    private static long count(java.sql.Connection c, String sql) throws java.sql.SQLException {
        try (java.sql.Statement st = c.createStatement(); java.sql.ResultSet rs = st.executeQuery(sql)) {
            assertTrue(rs.next(), sql);
            return rs.getLong(1);
        }
    }

    private static String refusal(java.sql.Connection c, String sql) {
        java.sql.SQLException e = org.junit.jupiter.api.Assertions.assertThrows(java.sql.SQLException.class, () -> {
            try (java.sql.Statement st = c.createStatement()) {
                st.execute(sql);
            }
        }, sql);
        return e.getMessage();
    }

    @Test
    void jobsAndQueriesShareTheCatalogAtTheSameTime() throws Exception {
        // 1. Two ingests of different datasets at once; the first use of the fresh metastore database is also
        // theirs (schema creation takes turns). Every batch: rows in = written + quarantined.
        List<Result> ingests = together(List.of(new String[] {"ingest", "readings_a"}, new String[] {"ingest", "readings_b"}));
        assertSucceeded(ingests);
        assertTrue(ingests.get(0).output().contains("rows read 963 = written 960 (raw.readings_a) + quarantined 3"),
                ingests.get(0).output());
        assertTrue(ingests.get(1).output().contains("rows read 965 = written 960 (raw.readings_b) + quarantined 5"),
                ingests.get(1).output());

        Result features = one("features", "materialize", "sensor_stats");
        assertSucceeded(List.of(features));

        // 2. Two trainings of one model at once, while a second batch of readings_a is ingested and kiln sql
        // reads that table: distinct versions, both registered; the query sees one committed version (before or
        // after the batch, nothing in between).
        StringBuilder late = new StringBuilder("sensor,ts,reading\n");
        for (int day = 20; day < 25; day++) {
            for (int hour = 0; hour < 24; hour += 2) {
                for (int s = 0; s < 4; s++) {
                    late.append(String.format("s%d,2024-01-%02d %02d:00:00,%.4f%n", s, day + 1, hour, ((day + hour + s) % 17) / 17.0));
                }
            }
        }
        Files.writeString(work.resolve("readings_a/late.csv"), late);
        String jdbcUrl = startSqlServer(); // starts while the trainings run; ready before scoring
        List<Result> trainings = together(List.of(new String[] {"train", "sensor_high"}, new String[] {"train", "sensor_high"},
                new String[] {"--conf", "datasets.readings_a.source.path=" + work.resolve("readings_a/late.csv"), "ingest", "readings_a"},
                new String[] {"sql", "SELECT count(*) AS a FROM raw.readings_a"}));
        assertSucceeded(trainings);
        List<String> versions = new ArrayList<>();
        Pattern version = Pattern.compile("models:/sensor_high/(\\d+) \\(");
        for (Result r : trainings.subList(0, 2)) {
            Matcher m = version.matcher(r.output());
            assertTrue(m.find(), r.output());
            versions.add(m.group(1));
        }
        assertEquals(List.of("1", "2"), versions.stream().sorted().toList(), "one version per training");
        assertTrue(trainings.get(2).output().contains("rows read 240 = written 240 (raw.readings_a) + quarantined 0"),
                trainings.get(2).output());
        String seen = rows(trainings.get(3)).stream().map(l -> l.replaceAll("\\s+", " ")).findFirst().orElseThrow();
        assertTrue(seen.equals("| 960 |") || seen.equals("| 1200 |"), "a committed version of raw.readings_a: " + seen);

        // 3. Scoring (reads features.sensor_stats__v1) while the feature set is materialized for the new days
        // (writes it), and kiln sql reads the registry meanwhile.
        awaitSqlServer();
        HiveJdbc jdbc = new HiveJdbc(Path.of(System.getProperty("kiln.sparkHome")));
        java.sql.Connection reader = jdbc.connect(jdbcUrl, SQL_USER, SQL_PASSWORD);
        List<Long> seen3 = java.util.Collections.synchronizedList(new ArrayList<>());
        List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.atomic.AtomicBoolean roundOver = new java.util.concurrent.atomic.AtomicBoolean();
        Thread poller = new Thread(() -> {
            while (!roundOver.get()) {
                try {
                    seen3.add(count(reader, "SELECT count(*) FROM ml.predictions"));
                } catch (java.sql.SQLException e) {
                    failures.add(e.getMessage());
                }
                try {
                    Thread.sleep(250);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "sql-server-reader");
        poller.start();
        List<Result> scoring;
        try {
            scoring = together(List.of(
                new String[] {"score", "--model", "models:/sensor_high/1", "--from", "2024-01-15", "--to", "2024-01-20"},
                new String[] {"features", "materialize", "sensor_stats"},
                new String[] {"sql", "SELECT count(*) AS versions FROM ml.models WHERE name = 'sensor_high'"}));
        } finally {
            roundOver.set(true);
            poller.join(60_000);
        }
        assertSucceeded(scoring);
        assertTrue(scoring.get(0).output().matches("(?s).*models:/sensor_high/1\\s+288 predictions.*"), scoring.get(0).output());
        assertTrue(scoring.get(1).output().contains("written to features.sensor_stats__v1"), scoring.get(1).output());
        assertEquals(List.of("| 2 |"), rows(scoring.get(2)).stream().map(l -> l.replaceAll("\\s+", " ")).toList());

        // Through the SQL server, while the scorer wrote: only counts that a committed version of ml.predictions has
        // (before its first commit the table does not exist yet), the last one all 288 predictions.
        java.util.Set<Long> committed = new java.util.TreeSet<>();
        try (java.sql.Statement st = reader.createStatement();
                java.sql.ResultSet history = st.executeQuery("DESCRIBE HISTORY ml.predictions")) {
            List<Long> versions3 = new ArrayList<>();
            while (history.next()) {
                versions3.add(history.getLong("version"));
            }
            for (long v : versions3) {
                committed.add(count(reader, "SELECT count(*) FROM ml.predictions VERSION AS OF " + v));
            }
        }
        System.out.println("sql-server reader: " + seen3.size() + " counts " + new java.util.TreeSet<>(seen3) + ", "
                + failures.size() + " before the table existed; committed counts " + committed);
        assertTrue(seen3.size() + failures.size() >= 3, "the reader ran during the round: " + seen3 + " " + failures);
        for (String f : failures) {
            assertTrue(f.contains("TABLE_OR_VIEW_NOT_FOUND"), "only a missing table may fail a read: " + f);
        }
        for (long n : seen3) {
            assertTrue(committed.contains(n), "count " + n + " is no committed version's (" + committed + ")");
        }
        assertEquals(288, count(reader, "SELECT count(*) FROM ml.predictions"));
        // Kiln's SQL functions through the SQL server (issue 34): kiln_score of the scored days is ml.predictions row
        // for row; kiln_historical_features and kiln_training_set answer.
        String scored = "(SELECT sensor, ts, score, predicted_label FROM kiln_score('raw.readings_a', 'models:/sensor_high/1')"
                + " WHERE ts >= timestamp_ntz'2024-01-15 00:00:00' AND ts < timestamp_ntz'2024-01-21 00:00:00')";
        String written = "(SELECT sensor, ts, score, predicted_label FROM ml.predictions)";
        assertEquals(288, count(reader, "SELECT count(*) FROM " + scored));
        assertEquals(0, count(reader, "SELECT count(*) FROM (" + scored + " EXCEPT ALL " + written + ")"));
        assertEquals(0, count(reader, "SELECT count(*) FROM (" + written + " EXCEPT ALL " + scored + ")"));
        // Features: one row per event (the late batch re-materialized earlier periods, so they are compared with the
        // training set on the demo lakehouse instead, in DemoIT).
        String refs = "array('sensor_stats@1:avg_3d', 'sensor_stats@1:high_rate_3d')";
        assertEquals(count(reader, "SELECT count(*) FROM raw.readings_a"), count(reader, "SELECT count(*) FROM"
                + " kiln_historical_features('raw.readings_a', 'ts', " + refs + ")"));
        assertTrue(count(reader, "SELECT count(*) FROM kiln_training_set('sensor_high')") > 0, "kiln_training_set's rows");
        String unknown = refusal(reader, "SELECT * FROM kiln_score('raw.readings_a', 'models:/sensor_high@nope')");
        assertTrue(unknown.contains("kiln_score: model sensor_high has no alias 'nope'"), unknown);
        // Read-only: a write and DDL are refused before they run, and nothing changed.
        for (String write : List.of("INSERT INTO ml.predictions SELECT * FROM ml.predictions LIMIT 1",
                "DELETE FROM ml.predictions", "CREATE TABLE ml.scratch (x INT) USING delta", "DROP TABLE ml.predictions")) {
            String message = refusal(reader, write);
            assertTrue(message.contains("the Kiln SQL server is read-only"), write + ": " + message);
        }
        assertEquals(288, count(reader, "SELECT count(*) FROM ml.predictions"));
        reader.close();
        String wrong = assertThrows(java.sql.SQLException.class, () -> jdbc.connect(jdbcUrl, SQL_USER, "not-" + SQL_PASSWORD))
                .getMessage();
        assertTrue(wrong.contains("Error validating the login"), wrong);
        jdbc.close();
        sqlServer.destroy();
        assertTrue(sqlServer.waitFor(60, TimeUnit.SECONDS), "kiln sql-server stops on SIGTERM");
        assertTrue(!Files.readString(work.resolve("sql-server.log"), StandardCharsets.UTF_8).contains(SQL_PASSWORD),
                "the password is never logged");

        // Afterwards, from one more process: no duplicate predictions, both versions registered, every job run
        // recorded, every table still in the catalog.
        Result check = one("sql", "SELECT (SELECT count(*) FROM ml.predictions) AS predictions,"
                + " (SELECT count(DISTINCT model_name, model_version, sensor, event_time) FROM ml.predictions) AS distinct_keys,"
                + " (SELECT count(DISTINCT version) FROM ml.models WHERE name = 'sensor_high') AS versions,"
                + " (SELECT count(*) FROM ops.job_runs WHERE status = 'succeeded') AS runs,"
                + " (SELECT count(*) FROM ops.job_runs WHERE status <> 'succeeded') AS failed_runs,"
                + " (SELECT count(*) FROM raw.readings_a_quarantine) + (SELECT count(*) FROM raw.readings_b_quarantine) AS quarantined,"
                + " (SELECT count(*) FROM raw.readings_a) AS a,"
                + " (SELECT count(*) FROM features.sensor_stats__v1) AS feature_rows");
        assertSucceeded(List.of(check));
        // 3 ingests + 2 materializations + 2 trainings (each also records its training-set build) + 1 scoring
        // = 10 recorded jobs, none failed (kiln sql records none); one feature row per sensor and day (4 x 25).
        assertEquals(List.of("| 288 | 288 | 2 | 10 | 0 | 8 | 1200 | 100 |"),
                rows(check).stream().map(l -> l.replaceAll("\\s+", " ")).toList(), check.output());
        Result tables = one("sql", "SHOW TABLES IN raw");
        assertSucceeded(List.of(tables));
        for (String t : List.of("readings_a", "readings_b", "readings_a_quarantine", "readings_b_quarantine")) {
            assertTrue(tables.output().contains("| " + t + " "), tables.output());
        }
    }
}
