package dev.kiln.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Every run findable: a job through a real {@code spark-submit} leaves its event log under the lakehouse root
 * and its Spark application id in {@code ops.job_runs}; the Spark distribution's History Server (and
 * {@code kiln history-server}) serve that application; a job killed with SIGKILL shows in {@code kiln runs} as
 * not finished. One lakehouse for all steps.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RunVisibilityIT {
    private static final Pattern APP_ID = Pattern.compile("\\[kiln\\] Spark application (local-\\d+)");
    private static final Pattern RUN_ID = Pattern.compile("\\[kiln\\] run ([0-9a-f-]{36}) of ");

    private static Path sparkHome;
    private static Path jobJar;
    private static Path repo;
    private static Path root;
    private static Path confDir;
    private static String salesAppId;

    @BeforeAll
    static void setUp() throws IOException {
        String home = System.getProperty("kiln.sparkHome", "");
        if (home.isBlank() || home.startsWith("${")) {
            throw new IllegalStateException("kiln.sparkHome is not set: run the tests with bin/test, which installs"
                    + " pyspark==4.0.1 and passes its Spark home");
        }
        sparkHome = Path.of(home);
        jobJar = Path.of(System.getProperty("kiln.jobJar"));
        repo = Path.of("").toAbsolutePath().getParent();
        root = Files.createTempDirectory("kiln-it-runs");
        confDir = Files.createTempDirectory("kiln-it-runs-conf");
        Files.copy(repo.resolve("conf/kiln.conf"), confDir.resolve("kiln.conf"));
        Files.copy(repo.resolve("conf/local.conf"), confDir.resolve("local.conf"));
        Path data = Files.createTempDirectory("kiln-it-runs-data");
        Files.writeString(data.resolve("day1.csv"), """
                id,ts,amount
                1,2024-03-01 10:00:00,10.5
                2,2024-03-01 11:00:00,oops
                """);
        Files.createDirectories(confDir.resolve("pipelines"));
        // slow: each row's derived column sleeps 10 minutes, so the job is still writing when it is killed
        Files.writeString(confDir.resolve("pipelines/runs.conf"), """
                datasets.sales {
                  source { format = csv, path = "%1$s" }
                  schema = [ { name = id, type = int, nullable = false }, { name = ts, type = timestamp },
                             { name = amount, type = double } ]
                  event-time = ts
                  keys = [id]
                }
                datasets.slow {
                  source { format = csv, path = "%1$s" }
                  schema = [ { name = id, type = int, nullable = false }, { name = ts, type = timestamp },
                             { name = amount, type = double } ]
                  event-time = ts
                  derived = [ { name = nap, expr = "reflect('java.lang.Thread', 'sleep', cast(600000 + id as bigint))" } ]
                  keys = [id]
                }
                """.formatted(data.resolve("day1.csv")));
    }

    @Test
    @Order(1)
    void theRunLogSaysWhichSparkApplicationRanAJobAndShowsItsStages() throws Exception {
        List<String> submit = new ArrayList<>(List.of(sparkHome.resolve("bin/spark-submit").toString(),
                "--master", "local[2]", "--class", "dev.kiln.jobs.KilnMain",
                "--driver-java-options", "-Dlog4j2.configurationFile=" + repo.resolve("conf/log4j2.properties") + " " + ShortJvm.submitted(),
                jobJar.toString()));
        submit.addAll(kilnArgs("ingest", "sales"));
        Result ingest = run(submit);
        assertEquals(0, ingest.exit(), ingest.output());
        salesAppId = group(APP_ID, ingest.output());
        String runId = group(RUN_ID, ingest.output());

        Result show = run(launcher("runs", "show", runId));
        assertEquals(0, show.exit(), show.output());
        assertTrue(field(show.output(), "status").equals("succeeded"), show.output());
        assertEquals(salesAppId, field(show.output(), "spark_app_id"), show.output());
        assertEquals("local[2]", field(show.output(), "spark_master"), show.output());
        assertEquals(root.resolve("spark-events/eventlog_v2_" + salesAppId),
                Path.of(URI.create(field(show.output(), "event_log"))), show.output());
        assertEquals(expectedVersion(), field(show.output(), "kiln_version").replace("-dirty", ""), show.output());
        assertTrue(field(show.output(), "host / pid").matches(".+ / \\d+"), show.output());
        // the stages' times, read back from the zstd-compressed rolling event log
        assertTrue(show.output().contains("Spark stages of this run ("), show.output());
        assertTrue(show.output().lines().anyMatch(l -> l.matches("\\| \\d+ +\\| 0 +\\| \\d+ +\\| 20\\S+Z +\\| \\d+\\.\\d{3} +"
                + "\\| appending to raw\\.\\w+ at Ingestion\\.java:\\d+ .*")), show.output());
        try (var files = Files.list(root.resolve("spark-events/eventlog_v2_" + salesAppId))) {
            assertTrue(files.anyMatch(f -> f.getFileName().toString().matches("events_1_" + salesAppId + "\\.zstd")),
                    "rolling, compressed event log files");
        }
    }

    /** The distribution's History Server and {@code kiln history-server} both serve the recorded application. */
    @Test
    @Order(2)
    void theHistoryServerServesTheApplicationRecordedInTheRunLog() throws Exception {
        assertNotNull(salesAppId, "needs the run of test 1");
        int distPort = freePort();
        ProcessBuilder dist = new ProcessBuilder(sparkHome.resolve("bin/spark-class").toString(),
                "org.apache.spark.deploy.history.HistoryServer");
        dist.environment().put("SPARK_HOME", sparkHome.toString());
        dist.environment().put("SPARK_HISTORY_OPTS", "-Dspark.history.fs.logDirectory=" + root.toUri() + "spark-events"
                + " -Dspark.history.ui.port=" + distPort + " -Dspark.history.fs.update.interval=1s");
        int kilnPort = freePort();
        Path distLog = Files.createTempFile("kiln-it-history", ".log");
        Path kilnLog = Files.createTempFile("kiln-it-history-server", ".log");
        Process distServer = dist.redirectErrorStream(true).redirectOutput(distLog.toFile()).start();
        Process kilnServer = new ProcessBuilder(launcher("history-server", "--port", String.valueOf(kilnPort),
                "--conf", "spark.history.fs.update.interval=1s"))
                .redirectErrorStream(true).redirectOutput(kilnLog.toFile()).start();
        try {
            for (int port : List.of(distPort, kilnPort)) {
                String apps = awaitApplication(port, salesAppId, port == distPort ? distLog : kilnLog);
                assertTrue(apps.contains("\"completed\" : true"), apps);
                String stages = get(port, "/api/v1/applications/" + salesAppId + "/stages").body();
                assertTrue(stages.contains("\"status\" : \"COMPLETE\""), stages);
            }
        } finally {
            distServer.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            kilnServer.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    @Order(3)
    void aJobKilledWithSigkillShowsAsNotFinished() throws Exception {
        Path log = Files.createTempFile("kiln-it-killed", ".log");
        List<String> command = launcher("ingest", "slow", "--batch-id", "killed-batch");
        Process job = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
        // the job's body started (its running row is committed before): now it writes, and sleeps in its tasks
        while (!Files.readString(log).contains("[kiln] ingest slow: batch killed-batch") && job.isAlive()
                && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertTrue(job.isAlive(), "the slow job ended before it was killed:\n" + Files.readString(log));
        Process kill = new ProcessBuilder("kill", "-KILL", String.valueOf(job.pid())).inheritIO().start();
        assertEquals(0, kill.waitFor());
        assertTrue(job.waitFor(30, TimeUnit.SECONDS));
        assertEquals(137, job.exitValue()); // 128 + SIGKILL
        String killedRunId = group(RUN_ID, Files.readString(log));

        Result runs = run(launcher("runs"));
        assertEquals(0, runs.exit(), runs.output());
        String row = runs.output().lines().filter(l -> l.contains(killedRunId)).findFirst()
                .orElseThrow(() -> new AssertionError("killed run not listed:\n" + runs.output()));
        List<String> cells = cells(row);
        assertTrue(cells.get(0).matches("20\\d\\d-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d.*Z"), row); // started_at
        assertEquals("ingest slow", cells.get(1), row);
        assertEquals("not finished", cells.get(2), row);
        assertEquals("NULL", cells.get(3), row); // no duration: it never ended
        assertTrue(cells.get(9).endsWith("ingest slow --batch-id killed-batch"), row); // arguments
        assertEquals("process " + job.pid() + " on " + InetAddress.getLocalHost().getHostName() + " is gone",
                cells.get(10), row); // error: why it did not finish
        assertTrue(runs.output().lines().map(RunVisibilityIT::cells)
                .anyMatch(c -> c.size() > 2 && c.get(1).equals("ingest sales") && c.get(2).equals("succeeded")),
                runs.output());

        Result failed = run(launcher("runs", "--failed"));
        assertEquals(0, failed.exit(), failed.output());
        assertTrue(failed.output().contains(killedRunId), failed.output());
        assertFalse(failed.output().contains("ingest sales"), failed.output());
    }

    private static List<String> kilnArgs(String... command) {
        List<String> args = new ArrayList<>(List.of("--conf-dir", confDir.toString(),
                "--conf", "kiln.lakehouse.root=" + root, "--conf", "spark.sql.shuffle.partitions=2"));
        args.addAll(ShortJvm.interpretedConf());
        args.addAll(List.of(command));
        return args;
    }

    /** The launcher's way: the job jar plus Spark's jars on a plain JVM. */
    private static List<String> launcher(String... command) throws IOException {
        String cp = jobJar + ":" + Files.readString(jobJar.getParent().resolve("spark-classpath.txt")).trim();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(List.of(System.getProperty("kiln.javaOpens", "").split(" ")));
        cmd.removeIf(String::isBlank);
        cmd.addAll(List.of("-Xmx1g", "-Dlog4j2.configurationFile=" + repo.resolve("conf/log4j2.properties"),
                "-cp", cp, "dev.kiln.jobs.KilnMain"));
        cmd.addAll(kilnArgs(command));
        return cmd;
    }

    private static Result run(List<String> command) throws Exception {
        Path log = Files.createTempFile("kiln-it", ".log");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + command);
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        System.out.println("$ " + String.join(" ", command) + "\n" + out.lines()
                .filter(l -> !l.isBlank() && !l.startsWith("[Stage")).reduce("", (a, b) -> a + b + "\n"));
        return new Result(p.exitValue(), out);
    }

    private record Result(int exit, String output) {}

    private static String awaitApplication(int port, String appId, Path serverLog) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        String last = "";
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> r = get(port, "/api/v1/applications");
                last = r.statusCode() + " " + r.body();
                if (r.statusCode() == 200 && r.body().contains("\"id\" : \"" + appId + "\"")) {
                    return r.body();
                }
            } catch (IOException notUpYet) {
                last = notUpYet.toString();
            }
            Thread.sleep(500);
        }
        throw new AssertionError("History Server on port " + port + " never listed " + appId + "; last answer: " + last
                + "\nits log:\n" + Files.readString(serverLog));
    }

    private static HttpResponse<String> get(int port, String path) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static String group(Pattern p, String text) {
        Matcher m = p.matcher(text);
        assertTrue(m.find(), p + " not in:\n" + text);
        return m.group(1);
    }

    /** A row of `kiln runs show`'s field table. */
    private static String field(String output, String name) {
        return output.lines().map(RunVisibilityIT::cells).filter(c -> c.size() == 2 && c.get(0).equals(name))
                .map(c -> c.get(1)).findFirst().orElseThrow(() -> new AssertionError(name + " not in:\n" + output));
    }

    private static List<String> cells(String tableLine) {
        if (!tableLine.startsWith("|")) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (String c : tableLine.substring(1, tableLine.length() - 1).split("\\|", -1)) {
            out.add(c.trim());
        }
        return out;
    }

    private static String expectedVersion() throws Exception {
        Process git = new ProcessBuilder("git", "-C", repo.toString(), "rev-parse", "HEAD").redirectErrorStream(true)
                .start();
        String out = new String(git.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        return git.waitFor() == 0 ? out : "unknown";
    }
}
