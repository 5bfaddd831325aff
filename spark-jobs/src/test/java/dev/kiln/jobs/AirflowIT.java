package dev.kiln.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.jobs.airflow.AirflowClient;
import dev.kiln.jobs.airflow.AirflowCredentials;
import dev.kiln.jobs.airflow.AirflowException;
import dev.kiln.jobs.airflow.AirflowRetrainTrigger;
import dev.kiln.jobs.airflow.DagRun;
import dev.kiln.jobs.airflow.DagRunState;
import dev.kiln.jobs.airflow.ImportError;
import dev.kiln.jobs.airflow.TaskInstance;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * A real Airflow 3 (api-server, scheduler and dag-processor as separate processes, LocalExecutor,
 * SQLite in a temporary AIRFLOW_HOME, the simple auth manager) with Kiln's DAG folder, driven through
 * Kiln's REST client: the DAGs import, the client's error cases hold against the real server, the retrain
 * trigger's kiln_retrain run trains and promotes the first champion on a small lakehouse prepared here, and
 * one day of kiln_flights_daily runs every daily Kiln job with spark-submit, writing that day's predictions.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AirflowIT {
    private static final String USER = "kiln";
    private static final LocalDate FIRST_DAY = LocalDate.of(2024, 1, 1);
    private static final LocalDate SCORED_DAY = LocalDate.of(2024, 1, 21);

    private static Path repo;
    private static Path venv;
    private static Path sparkHome;
    private static Path jobJar;
    private static Path work;
    private static Path root;
    private static Path confDir;
    private static Path data;
    private static Path airflowHome;
    private static String password;
    private static URI url;
    private static AirflowClient client;
    private static final List<Process> airflow = new ArrayList<>();

    @BeforeAll
    static void startAirflowAndPrepareTheLakehouse() throws Exception {
        venv = requiredPath("kiln.airflowVenv", "scripts/setup-airflow.sh, which installs Airflow 3 and passes its venv");
        sparkHome = requiredPath("kiln.sparkHome", "scripts/setup-venv.sh, which installs pyspark==4.0.1 and passes its Spark home");
        jobJar = Path.of(System.getProperty("kiln.jobJar"));
        repo = Path.of("").toAbsolutePath().getParent();
        work = Files.createTempDirectory("kiln-airflow-it");
        root = work.resolve("lake");
        confDir = work.resolve("conf");
        data = work.resolve("data");
        airflowHome = work.resolve("airflow");
        writeConfAndData();
        startAirflow(); // boots while the lakehouse is prepared below
        // A lakehouse with history up to the day before the one the daily run scores; kiln_retrain adds the model.
        run(sparkSubmit("ingest", "flights"), 0);
        run(sparkSubmit("features", "materialize"), 0);
        awaitHealthy(Duration.ofSeconds(180));
        client = new AirflowClient(url, new AirflowCredentials(USER, password), AirflowClient.Options.defaults());
    }

    @AfterAll
    static void stopAirflow() {
        for (Process p : airflow) {
            Stream.concat(p.descendants(), Stream.of(p.toHandle())).forEach(ProcessHandle::destroy);
        }
        for (Process p : airflow) {
            try {
                if (!p.waitFor(20, TimeUnit.SECONDS)) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Test
    @Order(1)
    void kilnsDagsImportWithoutErrors() {
        List<ImportError> errors = client.importErrors();
        assertTrue(errors.isEmpty(), () -> "import errors: " + errors);
        assertEquals("kiln_flights_daily", client.dag("kiln_flights_daily").dagId());
        assertEquals("kiln_retrain", client.dag("kiln_retrain").dagId());
    }

    @Test
    @Order(2)
    void theClientsErrorsHoldAgainstTheRealServer() {
        AirflowClient wrong = new AirflowClient(url, new AirflowCredentials(USER, password + "x"), AirflowClient.Options.defaults());
        AirflowException.Unauthorized denied = assertThrows(AirflowException.Unauthorized.class, () -> wrong.dag("kiln_retrain"));
        assertFalse(denied.getMessage().contains(password), denied.getMessage());
        AirflowException.NotFound missing = assertThrows(AirflowException.NotFound.class,
                () -> client.trigger("kiln_nope", Map.of(), Optional.empty(), Optional.empty()));
        assertTrue(missing.getMessage().contains("has no DAG 'kiln_nope'"), missing.getMessage());
        AirflowException.NotFound noRun = assertThrows(AirflowException.NotFound.class,
                () -> client.dagRun("kiln_retrain", "no-such-run"));
        assertTrue(noRun.getMessage().contains("has no DAG run 'no-such-run' of DAG 'kiln_retrain'"), noRun.getMessage());
    }

    /** The retrain trigger drift uses: kiln_retrain builds the training set, trains version 1 and makes it champion. */
    @Test
    @Order(3)
    void theRetrainDagTrainsAndPromotesAChampion() throws Exception {
        String runId = new AirflowRetrainTrigger(client, "kiln_retrain").requestRetrain("flight_delay", "airflow-it", "no-drift-run");
        DagRun end = client.await("kiln_retrain", runId, Duration.ofMinutes(8),
                r -> System.out.println("[airflow-it] " + r + " at " + Instant.now()));
        List<TaskInstance> tasks = client.taskInstances("kiln_retrain", runId);
        if (end.state() != DagRunState.SUCCESS) {
            printTaskLogs("kiln_retrain", runId);
        }
        assertEquals(DagRunState.SUCCESS, end.state(), () -> "tasks: " + tasks);
        assertEquals(List.of("promote", "train", "training_set"), tasks.stream().map(TaskInstance::taskId).sorted().toList());
        String promoteLog = taskLog("kiln_retrain", runId, "promote");
        assertTrue(promoteLog.contains("models:/flight_delay@champion -> version 1 (no champion yet to compare with)"), promoteLog);
    }

    @Test
    @Order(4)
    void oneDayOfTheDailyPipelineWritesThatDaysPredictions() throws Exception {
        String runId = "kiln_it__" + SCORED_DAY;
        Instant logicalDate = SCORED_DAY.atStartOfDay(java.time.ZoneOffset.UTC).toInstant();
        DagRun triggered = client.trigger("kiln_flights_daily", Map.of(), Optional.of(runId), Optional.of(logicalDate));
        assertEquals(Optional.of(logicalDate), triggered.logicalDate());
        assertThrows(AirflowException.Conflict.class,
                () -> client.trigger("kiln_flights_daily", Map.of(), Optional.of(runId), Optional.of(logicalDate)));

        DagRun end = client.await("kiln_flights_daily", runId, Duration.ofMinutes(10),
                r -> System.out.println("[airflow-it] " + r + " at " + Instant.now()));
        List<TaskInstance> tasks = client.taskInstances("kiln_flights_daily", runId);
        if (end.state() != DagRunState.SUCCESS) {
            printTaskLogs("kiln_flights_daily", runId);
        }
        assertEquals(DagRunState.SUCCESS, end.state(), () -> "tasks: " + tasks);
        assertEquals(List.of("drift", "evaluate", "ingest", "materialize_features", "score"),
                tasks.stream().map(TaskInstance::taskId).sorted().toList());
        assertTrue(tasks.stream().allMatch(t -> t.state().equals("success")), () -> "tasks: " + tasks);

        Result sql = run(sparkSubmit("sql", "SELECT 'day', count(*), count(DISTINCT model_version) FROM ml.predictions"
                + " WHERE prediction_date = DATE'" + SCORED_DAY + "' AND model_name = 'flight_delay'"
                + " UNION ALL SELECT 'other days', count(*), 0 FROM ml.predictions WHERE prediction_date <> DATE'" + SCORED_DAY + "'"
                + " UNION ALL SELECT 'evaluation', count(*), 0 FROM reports.evaluation WHERE window_from = DATE'" + SCORED_DAY + "'"
                + " UNION ALL SELECT 'drift', count(*), 0 FROM reports.drift"), 0);
        // 8 origins x 3 destinations x 2 flights on the scored day, all scored by the champion (version 1), and no other day
        assertTrue(sql.output().matches("(?s).*\\|\\s*day\\s*\\|\\s*48\\s*\\|\\s*1\\s*\\|.*"), sql.output());
        assertTrue(sql.output().matches("(?s).*\\|\\s*other days\\s*\\|\\s*0\\s*\\|.*"), sql.output());
        assertTrue(sql.output().matches("(?s).*\\|\\s*evaluation\\s*\\|\\s*[1-9][0-9]*\\s*\\|.*"), sql.output());
        assertTrue(sql.output().matches("(?s).*\\|\\s*drift\\s*\\|\\s*[1-9][0-9]*\\s*\\|.*"), sql.output());
    }

    // --- the lakehouse: a small flights-shaped dataset with known size, one feature set, a model ---

    private static void writeConfAndData() throws IOException {
        Files.createDirectories(confDir.resolve("pipelines"));
        Files.createDirectories(data.resolve("history"));
        Files.copy(repo.resolve("conf/kiln.conf"), confDir.resolve("kiln.conf"));
        Files.copy(repo.resolve("conf/local.conf"), confDir.resolve("local.conf"));
        Files.writeString(confDir.resolve("pipelines/flights.conf"), """
                datasets.flights {
                  source { format = csv, path = "%s" }
                  schema = [
                    { name = date, type = timestamp_ntz, nullable = false }
                    { name = delay, type = int, nullable = false }
                    { name = distance, type = int, nullable = false }
                    { name = origin, type = string, nullable = false }
                    { name = destination, type = string, nullable = false }
                  ]
                  event-time = date
                  derived = [ { name = flight_date, expr = "to_date(date)" } ]
                  partition-by = [flight_date]
                  write-mode = append
                }
                feature-sets.origin_delay_stats {
                  version = 1
                  entity = [origin]
                  source = "raw.flights"
                  event-time = date
                  grain = day
                  ttl = 7d
                  features = [
                    { name = flights_1d, agg = count, window = 1d }
                    { name = avg_delay_7d, agg = "avg(delay)", window = 7d }
                    { name = delayed_rate_7d, agg = "rate(delay > 15)", window = 7d }
                  ]
                }
                training-sets.flight_delay {
                  events = "raw.flights"
                  event-time = date
                  columns = [date, flight_date, origin, destination, distance]
                  label = "delay > 15"
                  features = ["origin_delay_stats:flights_1d", "origin_delay_stats:avg_delay_7d", "origin_delay_stats:delayed_rate_7d"]
                }
                models.flight_delay {
                  task = binary-classification
                  training-set = flight_delay
                  numeric = [distance]
                  algorithm = logistic-regression
                  grids { logistic-regression { regParam = [0.0], elasticNetParam = [0.0], maxIter = [20] } }
                  split { train-until = "2024-01-15", validate-until = "2024-01-21" }
                  metric = areaUnderROC
                  seed = 42
                  parallelism = 1
                }
                """.formatted(data.resolve("history/*.csv")));
        // Late origins (ORD, ATL) are late most of the time: the features carry signal, both labels occur every day.
        List<String> origins = List.of("ORD", "ATL", "DFW", "LAX", "SFO", "JFK", "SEA", "DEN");
        List<String> destinations = List.of("BOS", "MIA", "PHX");
        Random random = new Random(7);
        for (LocalDate day = FIRST_DAY; !day.isAfter(SCORED_DAY); day = day.plusDays(1)) {
            StringBuilder csv = new StringBuilder("date,delay,distance,origin,destination\n");
            for (int o = 0; o < origins.size(); o++) {
                for (int d = 0; d < destinations.size(); d++) {
                    for (int k = 0; k < 2; k++) {
                        int delay = (o < 2 ? 25 : 2) + (int) Math.round(random.nextGaussian() * 12);
                        csv.append(String.format("%sT%02d:%02d:00,%d,%d,%s,%s%n", day, 6 + 5 * k + d, 7 * o, delay,
                                300 + 150 * o + 400 * d, origins.get(o), destinations.get(d)));
                    }
                }
            }
            // The history is ingested here; the scored day's file is what the DAG run's ingest task picks up.
            Path file = day.equals(SCORED_DAY) ? data.resolve(day + ".csv") : data.resolve("history").resolve(day + ".csv");
            Files.writeString(file, csv);
        }
    }

    // --- Airflow: three processes on a free port, SQLite, LocalExecutor, a known user ---

    private static void startAirflow() throws Exception {
        Files.createDirectories(airflowHome);
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        url = URI.create("http://127.0.0.1:" + port);
        password = random(12);
        // The simple auth manager keeps generated passwords in this file and only generates missing ones.
        Files.writeString(airflowHome.resolve("simple_auth_manager_passwords.json.generated"),
                "{\"" + USER + "\": \"" + password + "\"}");
        String secret = random(24);
        Map<String, String> env = new java.util.LinkedHashMap<>();
        env.put("AIRFLOW_HOME", airflowHome.toString());
        env.put("AIRFLOW__CORE__DAGS_FOLDER", repo.resolve("conf/airflow/dags").toString());
        env.put("AIRFLOW__CORE__LOAD_EXAMPLES", "False");
        env.put("AIRFLOW__CORE__EXECUTOR", "LocalExecutor");
        env.put("AIRFLOW__CORE__PARALLELISM", "2");
        env.put("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", USER + ":admin");
        env.put("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "False");
        env.put("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", url + "/execution/");
        env.put("AIRFLOW__API_AUTH__JWT_SECRET", secret); // shared by the api-server and the task runners
        env.put("AIRFLOW__API__SECRET_KEY", secret);
        env.put("AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL", "5");
        env.put("AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC", "2");
        env.put("PATH", venv.resolve("bin") + ":" + System.getenv("PATH")); // spark-submit of the venv's pyspark
        env.put("KILN_DAILY_SCHEDULE", "none"); // triggered runs only: no catch-up from 2001
        // The DAGs' settings, as Variables from the environment
        env.put("AIRFLOW_VAR_KILN_JOB_JAR", jobJar.toString());
        env.put("AIRFLOW_VAR_KILN_CONF_DIR", confDir.toString());
        env.put("AIRFLOW_VAR_KILN_LAKEHOUSE_ROOT", root.toString());
        env.put("AIRFLOW_VAR_KILN_SPARK_MASTER", "local[2]");
        env.put("AIRFLOW_VAR_KILN_EXTRA_CONF", "spark.sql.shuffle.partitions=2");
        env.put("AIRFLOW_VAR_KILN_SUBMIT_CONF", "spark.driver.extraJavaOptions=-Dlog4j2.configurationFile="
                + repo.resolve("conf/log4j2.properties"));
        env.put("AIRFLOW_VAR_KILN_INGEST_SOURCE", data.resolve("{ds}.csv").toString());
        env.put("AIRFLOW_VAR_KILN_MODEL", "models:/flight_delay@champion");

        Result migrate = run(airflowCommand(env, "db", "migrate"), 0);
        assertTrue(migrate.output().contains("Database migrating done"), migrate.output());
        airflow.add(start(env, "api-server", "api-server", "--port", String.valueOf(port)));
        airflow.add(start(env, "scheduler", "scheduler"));
        airflow.add(start(env, "dag-processor", "dag-processor"));
    }

    private static ProcessBuilder airflowCommand(Map<String, String> env, String... args) {
        List<String> cmd = new ArrayList<>(List.of(venv.resolve("bin/airflow").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(work.toFile());
        pb.environment().putAll(env);
        return pb;
    }

    private static Process start(Map<String, String> env, String name, String... args) throws IOException {
        return airflowCommand(env, args).redirectErrorStream(true).redirectOutput(airflowHome.resolve(name + ".log").toFile()).start();
    }

    private static void awaitHealthy(Duration timeout) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        Instant deadline = Instant.now().plus(timeout);
        String last = "";
        while (Instant.now().isBefore(deadline)) {
            for (Process p : airflow) {
                if (!p.isAlive()) {
                    dumpAirflowLogs();
                    throw new AssertionError("an Airflow process exited with " + p.exitValue() + " (logs above)");
                }
            }
            try {
                last = http.send(HttpRequest.newBuilder(url.resolve("/api/v2/monitor/health")).timeout(Duration.ofSeconds(5)).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                if (last.matches("(?s).*\"scheduler\":\\{\"status\":\"healthy\".*")
                        && last.matches("(?s).*\"dag_processor\":\\{\"status\":\"healthy\".*")) {
                    return;
                }
            } catch (IOException e) {
                last = e.toString();
            }
            Thread.sleep(1000);
        }
        dumpAirflowLogs();
        throw new AssertionError("Airflow not healthy after " + timeout.toSeconds() + "s: " + last);
    }

    private static void dumpAirflowLogs() throws IOException {
        for (String name : List.of("api-server", "scheduler", "dag-processor")) {
            Path log = airflowHome.resolve(name + ".log");
            if (Files.exists(log)) {
                List<String> lines = Files.readAllLines(log);
                System.out.println("--- " + name + " (last 60 lines)\n"
                        + String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size())));
            }
        }
    }

    private static String taskLog(String dagId, String runId, String taskId) throws IOException {
        Path dir = airflowHome.resolve("logs/dag_id=" + dagId + "/run_id=" + runId + "/task_id=" + taskId);
        try (Stream<Path> files = Files.list(dir)) {
            StringBuilder text = new StringBuilder();
            for (Path f : files.sorted().toList()) {
                text.append(Files.readString(f, StandardCharsets.UTF_8));
            }
            return text.toString();
        }
    }

    private static void printTaskLogs(String dagId, String runId) throws IOException {
        Path logs = airflowHome.resolve("logs/dag_id=" + dagId + "/run_id=" + runId);
        if (!Files.isDirectory(logs)) {
            dumpAirflowLogs();
            return;
        }
        try (Stream<Path> files = Files.walk(logs)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                List<String> lines = Files.readAllLines(f);
                System.out.println("--- " + logs.relativize(f) + " (last 80 lines)\n"
                        + String.join("\n", lines.subList(Math.max(0, lines.size() - 80), lines.size())));
            }
        }
    }

    // --- Kiln through spark-submit, as SparkSubmitIT runs it ---

    private static ProcessBuilder sparkSubmit(String... command) {
        List<String> cmd = new ArrayList<>(List.of(sparkHome.resolve("bin/spark-submit").toString(),
                "--master", "local[2]", "--class", "dev.kiln.jobs.KilnMain",
                "--driver-java-options", "-Dlog4j2.configurationFile=" + repo.resolve("conf/log4j2.properties"),
                jobJar.toString(), "--conf-dir", confDir.toString(), "--conf", "kiln.lakehouse.root=" + root,
                "--conf", "spark.sql.shuffle.partitions=2"));
        cmd.addAll(List.of(command));
        return new ProcessBuilder(cmd).directory(work.toFile());
    }

    private record Result(int exit, String output) {}

    private static Result run(ProcessBuilder pb, int expectedExit) throws Exception {
        Path log = Files.createTempFile(work, "cmd", ".log");
        long start = System.nanoTime();
        Process p = pb.redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + pb.command());
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        System.out.printf("$ %s (%.1f s)%n%s%n", String.join(" ", pb.command()), (System.nanoTime() - start) / 1e9, out);
        assertEquals(expectedExit, p.exitValue(), out);
        return new Result(p.exitValue(), out);
    }

    private static Path requiredPath(String property, String installer) {
        String value = System.getProperty(property, "");
        if (value.isBlank() || value.startsWith("${")) {
            throw new IllegalStateException(property + " is not set: run the tests with bin/test, which runs " + installer);
        }
        return Path.of(value);
    }

    private static String random(int bytes) {
        byte[] b = new byte[bytes];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
