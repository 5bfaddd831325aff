package dev.kiln.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.kiln.jobs.airflow.AirflowClient;
import dev.kiln.jobs.airflow.AirflowCredentials;
import dev.kiln.jobs.airflow.AirflowException;
import dev.kiln.jobs.airflow.AirflowRetrainTrigger;
import dev.kiln.jobs.airflow.DagRun;
import dev.kiln.jobs.airflow.DagRunState;
import dev.kiln.jobs.airflow.ImportError;
import dev.kiln.jobs.airflow.TaskInstance;
import java.io.IOException;
import java.net.InetSocketAddress;
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
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * A real Airflow 3 (api-server, scheduler and dag-processor as separate processes, LocalExecutor, SQLite in a
 * temporary AIRFLOW_HOME, the simple auth manager), started by {@code scripts/airflow-up.sh} with Kiln's DAG
 * folder, driven through Kiln's REST client: the DAGs import and have the shape the catalog type asks for, the
 * client's error cases hold against the real server, and a day of kiln_flights_daily and a kiln_retrain run
 * triggered together both succeed on the embedded catalog without two Kiln tasks ever running at once (the
 * pool of one slot), on a small lakehouse prepared here with a champion. The retrain trigger's first request
 * reaches Airflow but its answer is lost (a proxy holds it past the client's timeout): the retried request
 * still leaves one retrain run.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AirflowIT {
    private static final String USER = "kiln";
    private static final LocalDate FIRST_DAY = LocalDate.of(2024, 1, 1);
    private static final LocalDate SCORED_DAY = LocalDate.of(2024, 1, 21);

    private static final String AIRFLOW_LINEAGE_NAMESPACE = "kiln-airflow-it";
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
    private static Process up;

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
        up = startAirflow(); // boots while the lakehouse is prepared below
        // A lakehouse with history up to the day before the one the daily run scores, and a champion (version 1):
        // the daily run scores with it while the retrain run trains version 2.
        run(sparkSubmit("ingest", "flights"), 0);
        run(sparkSubmit("features", "materialize"), 0);
        run(sparkSubmit("train", "flight_delay"), 0);
        Result promoted = run(sparkSubmit("models", "promote", "flight_delay", "1", "--alias", "champion"), 0);
        assertTrue(promoted.output().contains("models:/flight_delay@champion -> version 1"), promoted.output());
        awaitAirflowUp(up);
        client = new AirflowClient(url, new AirflowCredentials(USER, password), AirflowClient.Options.defaults());
    }

    @AfterAll
    static void stopAirflow() throws Exception {
        if (up != null && up.isAlive()) { // the lakehouse preparation failed while the script still waited
            up.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (airflowHome != null && Files.exists(airflowHome.resolve("kiln-airflow.pids"))) {
            List<String> pids = Files.readAllLines(airflowHome.resolve("kiln-airflow.pids"));
            Process stop = upScript("--stop").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!stop.waitFor(60, TimeUnit.SECONDS)) {
                stop.destroyForcibly();
            }
            for (String pid : pids.stream().filter(l -> !l.isBlank()).toList()) { // what --stop left, by the recorded ids
                ProcessHandle.of(Long.parseLong(pid.trim())).ifPresent(p -> {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                });
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

    /** The DAGs as Airflow parses them: on the embedded catalog every Kiln task in one pool; on a shared one, in parallel. */
    @Test
    @Order(3)
    void theDagsShapeFollowsTheCatalogType() throws Exception {
        JsonNode embedded = dagShape(Map.of());
        assertEquals("{}", embedded.path("import_errors").toString());
        for (String dag : List.of("kiln_flights_daily", "kiln_retrain")) {
            assertEquals(1, embedded.path(dag).path("max_active_tasks").asInt(), dag);
            embedded.path(dag).path("tasks").properties().forEach(t -> {
                assertEquals("kiln_embedded", t.getValue().path("pool").asText(), dag + "." + t.getKey());
                assertEquals(2, t.getValue().path("retries").asInt(), dag + "." + t.getKey());
            });
        }
        JsonNode shared = dagShape(Map.of("KILN_CATALOG_TYPE", "postgres", "KILN_DAILY_FEATURE_SETS", "origin_delay_stats route_stats",
                "KILN_DAILY_MODELS", "models:/flight_delay@champion models:/taxi_delay@champion"));
        JsonNode daily = shared.path("kiln_flights_daily").path("tasks");
        assertEquals(List.of("drift__flight_delay_champion", "drift__taxi_delay_champion", "estimate__flight_delay_champion",
                "estimate__taxi_delay_champion", "evaluate__flight_delay_champion",
                "evaluate__taxi_delay_champion", "ingest", "materialize__origin_delay_stats", "materialize__route_stats",
                "report__flight_delay_champion", "report__taxi_delay_champion", "score__flight_delay_champion",
                "score__taxi_delay_champion"), iterate(daily.fieldNames()));
        // both feature sets at once after ingest; each model's evaluation waits for its own scoring only
        assertEquals("[\"ingest\"]", daily.path("materialize__route_stats").path("upstream").toString());
        assertEquals("[\"materialize__origin_delay_stats\",\"materialize__route_stats\"]",
                daily.path("score__taxi_delay_champion").path("upstream").toString());
        assertEquals("[\"score__taxi_delay_champion\"]", daily.path("estimate__taxi_delay_champion").path("upstream").toString());
        assertEquals("[\"estimate__taxi_delay_champion\"]", daily.path("evaluate__taxi_delay_champion").path("upstream").toString());
        assertEquals("[\"drift__taxi_delay_champion\"]", daily.path("report__taxi_delay_champion").path("upstream").toString());
        assertEquals("default_pool", daily.path("score__taxi_delay_champion").path("pool").asText());
        assertTrue(shared.path("kiln_flights_daily").path("max_active_tasks").asInt() > 1, shared.toString());
    }

    /**
     * Both DAGs at once on the embedded catalog: both succeed, and their Kiln tasks took turns (the pool of one slot). The
     * retrain is requested as drift requests it, through a proxy that loses the answer to the first request.
     */
    @Test
    @Order(4)
    void theDailyAndTheRetrainDagRunTogetherAndTheirTasksTakeTurns() throws Exception {
        String dailyRun = "kiln_it__" + SCORED_DAY;
        Instant logicalDate = SCORED_DAY.atStartOfDay(java.time.ZoneOffset.UTC).toInstant();
        DagRun triggered = client.trigger("kiln_flights_daily", Map.of(), Optional.of(dailyRun), Optional.of(logicalDate));
        assertEquals(Optional.of(logicalDate), triggered.logicalDate());
        assertThrows(AirflowException.Conflict.class,
                () -> client.trigger("kiln_flights_daily", Map.of(), Optional.of(dailyRun), Optional.of(logicalDate)));

        String driftRunId = java.util.UUID.randomUUID().toString();
        String retrainRun;
        try (AnswerLosingProxy proxy = new AnswerLosingProxy(url, "/api/v2/dags/kiln_retrain/dagRuns", Duration.ofSeconds(12))) {
            AirflowClient impatient = new AirflowClient(proxy.url(), new AirflowCredentials(USER, password),
                    new AirflowClient.Options(Duration.ofSeconds(5), Duration.ofSeconds(6), 4,
                            new AirflowClient.Backoff(Duration.ofMillis(500), Duration.ofSeconds(2)),
                            AirflowClient.Options.defaults().pollBackoff()));
            retrainRun = new AirflowRetrainTrigger(impatient, "kiln_retrain").requestRetrain("flight_delay", "airflow-it", driftRunId);
            // Airflow took the first request (201/200) whose answer was lost, and refused its retry (409)
            assertEquals(2, proxy.upstreamStatuses.size(), proxy.upstreamStatuses::toString);
            assertTrue(proxy.upstreamStatuses.get(0) / 100 == 2 && proxy.upstreamStatuses.get(1) == 409, proxy.upstreamStatuses::toString);
        }
        assertEquals(AirflowRetrainTrigger.runIdFor(driftRunId), retrainRun);
        assertEquals(List.of(retrainRun), client.dagRuns("kiln_retrain", 10).stream().map(DagRun::runId).toList(),
                "one retrain run for one drift run");

        // The pool runs the two runs' nine tasks one after the other: the first wait covers nearly all of them.
        DagRun retrainEnd = client.await("kiln_retrain", retrainRun, Duration.ofMinutes(25),
                r -> System.out.println("[airflow-it] " + r + " at " + Instant.now()));
        DagRun dailyEnd = client.await("kiln_flights_daily", dailyRun, Duration.ofMinutes(10),
                r -> System.out.println("[airflow-it] " + r + " at " + Instant.now()));
        List<TaskInstance> retrainTasks = client.taskInstances("kiln_retrain", retrainRun);
        List<TaskInstance> dailyTasks = client.taskInstances("kiln_flights_daily", dailyRun);
        if (retrainEnd.state() != DagRunState.SUCCESS) {
            printTaskLogs("kiln_retrain", retrainRun);
        }
        if (dailyEnd.state() != DagRunState.SUCCESS) {
            printTaskLogs("kiln_flights_daily", dailyRun);
        }
        assertEquals(DagRunState.SUCCESS, retrainEnd.state(), () -> "tasks: " + retrainTasks);
        assertEquals(DagRunState.SUCCESS, dailyEnd.state(), () -> "tasks: " + dailyTasks);
        assertEquals(List.of("promote", "train", "training_set"), retrainTasks.stream().map(TaskInstance::taskId).sorted().toList());
        assertEquals(List.of("drift", "estimate", "evaluate", "ingest", "materialize_features", "report", "score"),
                dailyTasks.stream().map(TaskInstance::taskId).sorted().toList());
        assertTrue(dailyTasks.stream().allMatch(t -> t.state().equals("success")), () -> "tasks: " + dailyTasks);

        // The runs overlapped in time, their Kiln tasks did not: each task started after the one before it ended.
        assertTrue(retrainEnd.startDate().get().isBefore(dailyEnd.endDate().get())
                && dailyEnd.startDate().get().isBefore(retrainEnd.endDate().get()), () -> retrainEnd + " / " + dailyEnd);
        List<TaskInstance> all = new ArrayList<>(retrainTasks);
        all.addAll(dailyTasks);
        all.sort(java.util.Comparator.comparing(t -> t.startDate().orElseThrow()));
        StringBuilder timeline = new StringBuilder();
        all.forEach(t -> timeline.append(String.format("%n  %s .. %s %s", t.startDate().get(), t.endDate().get(), t.taskId())));
        System.out.println("[airflow-it] Kiln tasks of both runs:" + timeline);
        for (int k = 1; k < all.size(); k++) {
            assertFalse(all.get(k).startDate().get().isBefore(all.get(k - 1).endDate().get()), "overlapping Kiln tasks:" + timeline);
        }

        // Version 2 was trained and compared with champion version 1 (promoted or not, the run succeeds either way).
        String promoteLog = taskLog("kiln_retrain", retrainRun, "promote");
        assertTrue(promoteLog.contains("models:/flight_delay@champion -> version 2 (")
                || promoteLog.contains("not promoted: areaUnderROC models:/flight_delay/2"), promoteLog);

        Result sql = run(sparkSubmit("sql", "SELECT 'day', count(*), count(DISTINCT model_version) FROM ml.predictions"
                + " WHERE prediction_date = DATE'" + SCORED_DAY + "' AND model_name = 'flight_delay'"
                + " UNION ALL SELECT 'other days', count(*), 0 FROM ml.predictions WHERE prediction_date <> DATE'" + SCORED_DAY + "'"
                + " UNION ALL SELECT 'evaluation', count(*), 0 FROM reports.evaluation WHERE window_from = DATE'" + SCORED_DAY + "'"
                + " UNION ALL SELECT 'drift', count(*), 0 FROM reports.drift"
                + " UNION ALL SELECT 'html reports', count(*), 0 FROM reports.html_reports WHERE window_from = DATE'" + SCORED_DAY + "'"
                + " UNION ALL SELECT 'versions', count(*), 0 FROM ml.models WHERE name = 'flight_delay'"), 0);
        // 8 origins x 3 destinations x 2 flights on the scored day, all scored by one champion, and no other day
        assertTrue(sql.output().matches("(?s).*\\|\\s*day\\s*\\|\\s*48\\s*\\|\\s*1\\s*\\|.*"), sql.output());
        assertTrue(sql.output().matches("(?s).*\\|\\s*other days\\s*\\|\\s*0\\s*\\|.*"), sql.output());
        assertTrue(sql.output().matches("(?s).*\\|\\s*evaluation\\s*\\|\\s*[1-9][0-9]*\\s*\\|.*"), sql.output());
        assertTrue(sql.output().matches("(?s).*\\|\\s*drift\\s*\\|\\s*[1-9][0-9]*\\s*\\|.*"), sql.output());
        // the day's HTML report, the DAG's last task
        assertTrue(sql.output().matches("(?s).*\\|\\s*html reports\\s*\\|\\s*1\\s*\\|.*"), sql.output());
        assertTrue(sql.output().matches("(?s).*\\|\\s*versions\\s*\\|\\s*2\\s*\\|.*"), sql.output());

        List<String> taskJobs = new ArrayList<>();
        retrainTasks.forEach(t -> taskJobs.add("kiln_retrain." + t.taskId()));
        dailyTasks.forEach(t -> taskJobs.add("kiln_flights_daily." + t.taskId()));
        assertKilnJobsHangUnderTheirAirflowTasks(taskJobs);
    }

    private static JsonNode dagShape(Map<String, String> settings) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(venv.resolve("bin/python").toString(),
                repo.resolve("spark-jobs/src/test/resources/airflow/dag_shape.py").toString(),
                repo.resolve("conf/airflow/dags").toString()).directory(work.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("KILN_"));
        pb.environment().put("AIRFLOW_HOME", work.resolve("airflow-shape").toString());
        pb.environment().putAll(settings);
        Result r = run(pb, 0);
        String line = r.output().lines().filter(l -> l.startsWith("SHAPE ")).findFirst()
                .orElseThrow(() -> new AssertionError("no SHAPE line: " + r.output()));
        return new ObjectMapper().readTree(line.substring("SHAPE ".length()));
    }

    private static List<String> iterate(java.util.Iterator<String> names) {
        List<String> out = new ArrayList<>();
        names.forEachRemaining(out::add);
        return out.stream().sorted().toList();
    }

    /**
     * Forwards requests to Airflow; the first POST to {@code lossyPath} reaches Airflow, which takes it, but its
     * answer is held for {@code hold} and then dropped, as when a network or a load balancer loses it.
     */
    private static final class AnswerLosingProxy implements AutoCloseable {
        private final HttpServer server;
        private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        private final AtomicBoolean lost = new AtomicBoolean();
        final List<Integer> upstreamStatuses = java.util.Collections.synchronizedList(new ArrayList<>());

        AnswerLosingProxy(URI target, String lossyPath, Duration hold) throws IOException {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.setExecutor(Executors.newCachedThreadPool());
            server.createContext("/", x -> {
                try (x) {
                    String path = x.getRequestURI().getRawPath() + (x.getRequestURI().getRawQuery() == null ? "" : "?" + x.getRequestURI().getRawQuery());
                    byte[] body = x.getRequestBody().readAllBytes();
                    HttpRequest.Builder forward = HttpRequest.newBuilder(URI.create(target + path)).timeout(Duration.ofSeconds(60))
                            .method(x.getRequestMethod(), body.length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
                    for (String h : List.of("Authorization", "Content-Type", "Accept")) {
                        String v = x.getRequestHeaders().getFirst(h);
                        if (v != null) {
                            forward.header(h, v);
                        }
                    }
                    HttpResponse<byte[]> answer = http.send(forward.build(), HttpResponse.BodyHandlers.ofByteArray());
                    boolean lossy = x.getRequestMethod().equals("POST") && x.getRequestURI().getRawPath().equals(lossyPath);
                    if (lossy) {
                        upstreamStatuses.add(answer.statusCode());
                        if (lost.compareAndSet(false, true)) {
                            Thread.sleep(hold.toMillis()); // the client gives up meanwhile; then the connection closes unanswered
                            return;
                        }
                    }
                    answer.headers().firstValue("Content-Type").ifPresent(v -> x.getResponseHeaders().set("Content-Type", v));
                    x.sendResponseHeaders(answer.statusCode(), answer.body().length == 0 ? -1 : answer.body().length);
                    x.getResponseBody().write(answer.body());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            server.start();
        }

        URI url() {
            return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
        }

        @Override
        public void close() {
            server.stop(0);
            ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
        }
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

    /** {@code scripts/airflow-up.sh} on a free port in a temporary AIRFLOW_HOME; returns while it waits for Airflow. */
    private static Process startAirflow() throws Exception {
        Files.createDirectories(airflowHome);
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        url = URI.create("http://127.0.0.1:" + port);
        password = random(12);
        // The simple auth manager keeps generated passwords in this file, and the script keeps a file that exists.
        Files.writeString(airflowHome.resolve("simple_auth_manager_passwords.json.generated"),
                "{\"" + USER + "\": \"" + password + "\"}");
        ProcessBuilder script = upScript();
        Map<String, String> env = script.environment();
        env.put("KILN_AIRFLOW_PORT", String.valueOf(port));
        env.put("KILN_JOB_JAR", jobJar.toString());
        env.put("KILN_CONF_DIR", confDir.toString());
        env.put("KILN_LAKEHOUSE_ROOT", root.toString());
        env.put("KILN_SPARK_MASTER", "local[2]"); // the kiln_spark connection
        env.put("AIRFLOW__CORE__PARALLELISM", "2"); // two tasks could run at once: only the pool keeps Kiln's apart
        env.put("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "False");
        env.put("AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL", "5");
        env.put("AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC", "2");
        env.put("KILN_DAILY_SCHEDULE", "none"); // triggered runs only: no catch-up from 2001
        env.put("KILN_RETRY_DELAY_SECONDS", "5");
        // The DAGs' run-time settings, as Variables from the environment
        // Kiln's OpenLineage events and the OpenLineage provider's (one per Airflow task run) go to two files
        env.put("AIRFLOW_VAR_KILN_EXTRA_CONF", "spark.sql.shuffle.partitions=2 " + String.join(" ", ShortJvm.INTERPRETED)
                + " kiln.lineage.openlineage.file=" + kilnLineage());
        env.put("AIRFLOW__OPENLINEAGE__TRANSPORT", "{\"type\": \"file\", \"log_file_path\": \"" + airflowLineage() + "\", \"append\": true}");
        env.put("AIRFLOW__OPENLINEAGE__NAMESPACE", AIRFLOW_LINEAGE_NAMESPACE);
        env.put("AIRFLOW_VAR_KILN_SUBMIT_CONF", "'spark.driver.extraJavaOptions=-Dlog4j2.configurationFile="
                + repo.resolve("conf/log4j2.properties") + " " + ShortJvm.submitted() + "'");
        env.put("AIRFLOW_VAR_KILN_INGEST_SOURCE", data.resolve("{ds}.csv").toString());
        env.put("AIRFLOW_VAR_KILN_MODEL", "models:/flight_delay@champion");
        return script.redirectErrorStream(true).redirectOutput(airflowHome.resolve("airflow-up.log").toFile()).start();
    }

    private static Path kilnLineage() {
        return work.resolve("kiln-openlineage.jsonl");
    }

    private static Path airflowLineage() {
        return work.resolve("airflow-openlineage.jsonl");
    }

    /**
     * Every Kiln job of the two runs named its Airflow task's OpenLineage run as its parent: the run id, job name
     * and namespace of the provider's own events for that task (same task, same try).
     */
    private static void assertKilnJobsHangUnderTheirAirflowTasks(List<String> tasks) throws Exception {
        ObjectMapper json = new ObjectMapper();
        Map<String, String> airflowRuns = new java.util.TreeMap<>(); // job name -> run id, from the provider
        for (String line : Files.readAllLines(airflowLineage())) {
            JsonNode event = json.readTree(line);
            if (event.path("job").path("namespace").asText().equals(AIRFLOW_LINEAGE_NAMESPACE) && event.has("run")) {
                airflowRuns.merge(event.path("job").path("name").asText(), event.path("run").path("runId").asText(),
                        (a, b) -> { assertEquals(a, b, "one run id per task"); return a; });
            }
        }
        Map<String, String> parents = new java.util.TreeMap<>(); // Airflow job name -> run id, from Kiln's events
        int kilnEvents = 0;
        for (String line : Files.readAllLines(kilnLineage())) {
            JsonNode parent = json.readTree(line).path("run").path("facets").path("parent");
            assertFalse(parent.isMissingNode(), () -> "a Kiln event without a parent run: " + line);
            assertEquals(AIRFLOW_LINEAGE_NAMESPACE, parent.path("job").path("namespace").asText(), line);
            parents.merge(parent.path("job").path("name").asText(), parent.path("run").path("runId").asText(),
                    (a, b) -> { assertEquals(a, b, "one parent run per task"); return a; });
            kilnEvents++;
        }
        System.out.println("[airflow-it] " + kilnEvents + " Kiln OpenLineage events under " + parents.size()
                + " Airflow tasks; the provider's task runs: " + airflowRuns.keySet());
        assertEquals(tasks.stream().sorted().toList(), List.copyOf(parents.keySet()), "every task's Kiln job has its task as parent");
        parents.forEach((job, run) -> assertEquals(airflowRuns.get(job), run, job + ": the provider's run id"));

        // Each event rebuilt from the OpenLineage client's classes (generated from the spec's schemas), and a
        // broken copy (one run id not a UUID, one unknown facet field) fails that check.
        Path checker = repo.resolve("python/tests/check_openlineage.py");
        Result valid = run(new ProcessBuilder(venv.resolve("bin/python").toString(), checker.toString(), kilnLineage().toString()), 0);
        assertTrue(valid.output().startsWith(kilnEvents + " events valid ("), valid.output());
        List<String> lines = new ArrayList<>(Files.readAllLines(kilnLineage()));
        String first = lines.get(0);
        String runId = json.readTree(first).path("run").path("runId").asText();
        lines.set(0, first.replace(runId, "run-" + runId.substring(4)));
        lines.set(1, lines.get(1).replace("\"processingType\"", "\"processingKind\":\"BATCH\",\"processingType\""));
        Path broken = Files.write(work.resolve("broken-openlineage.jsonl"), lines);
        Result invalid = run(new ProcessBuilder(venv.resolve("bin/python").toString(), checker.toString(), broken.toString()), 1);
        assertTrue(invalid.output().contains("line 1: ValueError: badly formed hexadecimal UUID string")
                && invalid.output().contains("line 2: TypeError: JobTypeJobFacet.__init__() got an unexpected keyword argument 'processingKind'"),
                invalid.output());
    }

    private static ProcessBuilder upScript(String... args) {
        List<String> cmd = new ArrayList<>(List.of(repo.resolve("scripts/airflow-up.sh").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(work.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("KILN_") || k.startsWith("AIRFLOW"));
        pb.environment().put("AIRFLOW_HOME", airflowHome.toString());
        pb.environment().put("KILN_AIRFLOW_VENV", venv.toString());
        return pb;
    }

    private static void awaitAirflowUp(Process script) throws Exception {
        boolean ended = script.waitFor(300, TimeUnit.SECONDS);
        String out = Files.readString(airflowHome.resolve("airflow-up.log"), StandardCharsets.UTF_8);
        System.out.println("$ scripts/airflow-up.sh\n" + out);
        if (!ended || script.exitValue() != 0) {
            dumpAirflowLogs();
            throw new AssertionError("scripts/airflow-up.sh " + (ended ? "exited with " + script.exitValue() : "did not finish in 300 s")
                    + ":\n" + out);
        }
        assertTrue(out.contains("Airflow for Kiln is up at " + url), out);
        assertTrue(out.contains("password in " + airflowHome.resolve("simple_auth_manager_passwords.json.generated")), out);
        assertFalse(out.contains(password), "the password is not printed");
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
                "--driver-java-options", "-Dlog4j2.configurationFile=" + repo.resolve("conf/log4j2.properties") + " " + ShortJvm.submitted(),
                jobJar.toString(), "--conf-dir", confDir.toString(), "--conf", "kiln.lakehouse.root=" + root,
                "--conf", "spark.sql.shuffle.partitions=2"));
        cmd.addAll(ShortJvm.interpretedConf());
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
