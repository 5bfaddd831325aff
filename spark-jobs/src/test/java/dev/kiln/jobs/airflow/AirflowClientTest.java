package dev.kiln.jobs.airflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The REST client against {@link FakeAirflow}; AirflowIT drives the same calls against a real Airflow 3.
 */
class AirflowClientTest {
    private static final AirflowClient.Options FAST = new AirflowClient.Options(Duration.ofSeconds(2), Duration.ofSeconds(5), 3,
            new AirflowClient.Backoff(Duration.ofMillis(10), Duration.ofMillis(40)),
            new AirflowClient.Backoff(Duration.ofMillis(10), Duration.ofMillis(40)));

    private FakeAirflow airflow;

    @BeforeEach
    void start() throws IOException {
        airflow = new FakeAirflow();
    }

    @AfterEach
    void stop() {
        airflow.close();
    }

    private AirflowClient client(String password) {
        return new AirflowClient(airflow.url(), new AirflowCredentials(FakeAirflow.USER, password), FAST);
    }

    @Test
    void triggersWithConfAndRunIdThenWaitsForSuccess() {
        AirflowClient client = client(FakeAirflow.PASSWORD);
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("model", "flight_delay");
        conf.put("reason", "psi 0.31 > 0.2");
        DagRun run = client.trigger("kiln_retrain", conf, Optional.of("retrain-1"), Optional.empty());
        assertEquals("retrain-1", run.runId());
        assertEquals(DagRunState.QUEUED, run.state());

        JsonNode sent = airflow.triggered.get("kiln_retrain/retrain-1");
        assertTrue(sent.has("logical_date") && sent.get("logical_date").isNull(), sent.toString());
        assertEquals("flight_delay", sent.path("conf").path("model").asText());
        assertEquals("psi 0.31 > 0.2", sent.path("conf").path("reason").asText());

        List<DagRunState> seen = new ArrayList<>();
        DagRun end = client.await("kiln_retrain", "retrain-1", Duration.ofSeconds(10), r -> seen.add(r.state()));
        assertEquals(DagRunState.SUCCESS, end.state());
        assertEquals(List.of(DagRunState.QUEUED, DagRunState.RUNNING, DagRunState.SUCCESS), seen);
        assertEquals(Optional.of(Instant.parse("2024-03-02T10:05:00Z")), end.endDate());
        assertEquals(1, airflow.tokensIssued.get(), "one token serves every request");

        List<TaskInstance> tasks = client.taskInstances("kiln_retrain", "retrain-1");
        assertEquals(List.of("ingest", "score"), tasks.stream().map(TaskInstance::taskId).toList());
        assertEquals("success", tasks.get(0).state());
        assertEquals(Optional.of(12.5), tasks.get(0).durationSeconds());
        assertEquals("none", tasks.get(1).state());
    }

    @Test
    void aLogicalDateIsSentAsAnInstantAndRunIdsAreEncodedAsOnePathSegment() {
        AirflowClient client = client(FakeAirflow.PASSWORD);
        DagRun run = client.trigger("kiln_flights_daily", Map.of(), Optional.of("scheduled__2024-03-01T00:00:00+00:00"),
                Optional.of(Instant.parse("2024-03-01T00:00:00Z")));
        assertEquals(Optional.of(Instant.parse("2024-03-01T00:00:00Z")), run.logicalDate());
        assertEquals("2024-03-01T00:00:00Z", airflow.triggered.values().iterator().next().path("logical_date").asText());
        assertEquals(DagRunState.QUEUED, client.dagRun("kiln_flights_daily", "scheduled__2024-03-01T00:00:00+00:00").state());
        assertTrue(airflow.requests.contains("GET /api/v2/dags/kiln_flights_daily/dagRuns/scheduled__2024-03-01T00%3A00%3A00%2B00%3A00"),
                airflow.requests.toString());
    }

    @Test
    void aWrongPasswordIsUnauthorizedAndTheMessageNeverShowsIt() {
        AirflowException.Unauthorized e = assertThrows(AirflowException.Unauthorized.class,
                () -> client("wrong-pw").trigger("kiln_retrain", Map.of(), Optional.empty(), Optional.empty()));
        assertTrue(e.getMessage().contains("refused user 'kiln' (401 on POST /auth/token"), e.getMessage());
        assertTrue(e.getMessage().contains("KILN_AIRFLOW_USERNAME/KILN_AIRFLOW_PASSWORD"), e.getMessage());
        assertFalse(e.getMessage().contains("wrong-pw"), e.getMessage());
        assertTrue(airflow.triggered.isEmpty());
    }

    @Test
    void anExpiredTokenIsRenewedOnce() {
        AirflowClient client = client(FakeAirflow.PASSWORD);
        client.authenticate();
        airflow.validToken = "token-2"; // the first token is now rejected with 403, as Airflow does
        assertEquals("kiln_retrain", client.dag("kiln_retrain").dagId());
        assertEquals(2, airflow.tokensIssued.get());
    }

    @Test
    void anUnknownDagIsNotFound() {
        AirflowException.NotFound e = assertThrows(AirflowException.NotFound.class,
                () -> client(FakeAirflow.PASSWORD).trigger("kiln_retrian", Map.of(), Optional.empty(), Optional.empty()));
        assertTrue(e.getMessage().contains("has no DAG 'kiln_retrian' (DAG with dag_id: 'kiln_retrian' not found)"), e.getMessage());
        assertTrue(e.getMessage().contains("dags folder"), e.getMessage());
    }

    @Test
    void aDuplicateRunIdIsAConflict() {
        AirflowClient client = client(FakeAirflow.PASSWORD);
        client.trigger("kiln_retrain", Map.of(), Optional.of("r1"), Optional.empty());
        AirflowException.Conflict e = assertThrows(AirflowException.Conflict.class,
                () -> client.trigger("kiln_retrain", Map.of(), Optional.of("r1"), Optional.empty()));
        assertTrue(e.getMessage().contains("already has a run for DAG 'kiln_retrain' (run id 'r1')"), e.getMessage());
        assertTrue(e.getMessage().contains("UNIQUE constraint failed"), e.getMessage());
        assertFalse(e.getMessage().contains("INSERT INTO"), "the SQL statement is noise: " + e.getMessage());
    }

    @Test
    void serverErrorsAreRetriedWithBackoffThenSucceed() {
        AirflowClient client = client(FakeAirflow.PASSWORD);
        client.authenticate();
        airflow.failNext.set(2);
        DagRun run = client.trigger("kiln_retrain", Map.of(), Optional.of("r5"), Optional.empty());
        assertEquals("r5", run.runId());
        assertEquals(3, airflow.requests.stream().filter(r -> r.equals("POST /api/v2/dags/kiln_retrain/dagRuns")).count());
    }

    @Test
    void serverErrorsBeyondTheAttemptsFail() {
        AirflowClient client = client(FakeAirflow.PASSWORD);
        client.authenticate();
        airflow.failNext.set(10);
        AirflowException.ServerError e = assertThrows(AirflowException.ServerError.class, () -> client.dag("kiln_retrain"));
        assertTrue(e.getMessage().contains("answered 503 to GET /api/v2/dags/kiln_retrain 3 times: database is locked"), e.getMessage());
        assertEquals(3, airflow.requests.stream().filter(r -> r.equals("GET /api/v2/dags/kiln_retrain")).count());
    }

    @Test
    void anUnreachableServerFailsAfterTheBoundedRetries() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort(); // free again once closed: nothing listens there
        }
        AirflowClient client = new AirflowClient(URI.create("http://127.0.0.1:" + port),
                new AirflowCredentials("kiln", "pw"), FAST);
        long start = System.nanoTime();
        AirflowException.Unreachable e = assertThrows(AirflowException.Unreachable.class, () -> client.dag("kiln_retrain"));
        assertTrue(e.getMessage().contains("cannot reach Airflow at http://127.0.0.1:" + port), e.getMessage());
        assertTrue(e.getMessage().contains("3 attempts"), e.getMessage());
        assertTrue(e.getMessage().contains("kiln.airflow.url"), e.getMessage());
        assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofSeconds(5)) < 0);
    }

    @Test
    void waitingGivesUpAtTheTimeoutAndSaysTheRunGoesOn() {
        AirflowClient client = client(FakeAirflow.PASSWORD);
        airflow.initialStates = List.of("queued", "running");
        client.trigger("kiln_flights_daily", Map.of(), Optional.of("slow"), Optional.empty());
        long start = System.nanoTime();
        AirflowException.Timeout e = assertThrows(AirflowException.Timeout.class,
                () -> client.await("kiln_flights_daily", "slow", Duration.ofMillis(300), r -> {}));
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertTrue(took.compareTo(Duration.ofMillis(300)) >= 0 && took.compareTo(Duration.ofSeconds(3)) < 0, took.toString());
        assertTrue(e.getMessage().contains("DAG run 'slow' of DAG 'kiln_flights_daily' is still running after 300ms"), e.getMessage());
        assertTrue(e.getMessage().contains("kiln airflow status kiln_flights_daily slow"), e.getMessage());
    }

    @Test
    void aFailedRunIsTerminal() {
        AirflowClient client = client(FakeAirflow.PASSWORD);
        airflow.initialStates = List.of("running", "failed");
        client.trigger("kiln_flights_daily", Map.of(), Optional.of("bad"), Optional.empty());
        assertEquals(DagRunState.FAILED, client.await("kiln_flights_daily", "bad", Duration.ofSeconds(5), r -> {}).state());
    }

    @Test
    void theRetrainTriggerStartsTheRetrainDagWithModelReasonAndDriftRun() {
        AirflowRetrainTrigger trigger = new AirflowRetrainTrigger(client(FakeAirflow.PASSWORD), "kiln_retrain");
        String runId = trigger.requestRetrain("flight_delay", "psi of distance 0.41 > 0.2", "drift-run-7");
        assertEquals("kiln_drift__drift-run-7", runId);
        JsonNode sent = airflow.triggered.get("kiln_retrain/" + runId);
        assertEquals(runId, sent.path("dag_run_id").asText());
        assertEquals("{\"model\":\"flight_delay\",\"reason\":\"psi of distance 0.41 > 0.2\",\"drift_run_id\":\"drift-run-7\"}",
                sent.path("conf").toString());
    }

    /** Airflow accepts the trigger but its answer comes after the client's timeout: the retry meets 409, which is success. */
    @Test
    void aRetrainRequestRetriedAfterALostAnswerStartsOneRun() {
        AirflowClient.Options impatient = new AirflowClient.Options(Duration.ofSeconds(2), Duration.ofMillis(300), 3,
                new AirflowClient.Backoff(Duration.ofMillis(10), Duration.ofMillis(40)), FAST.pollBackoff());
        AirflowClient client = new AirflowClient(airflow.url(), new AirflowCredentials(FakeAirflow.USER, FakeAirflow.PASSWORD), impatient);
        client.authenticate();
        airflow.delayNextTriggerAnswerMillis.set(1500);
        String runId = new AirflowRetrainTrigger(client, "kiln_retrain").requestRetrain("flight_delay", "psi", "9f1c-uuid");
        assertEquals("kiln_drift__9f1c-uuid", runId);
        assertEquals(2, airflow.requests.stream().filter(r -> r.equals("POST /api/v2/dags/kiln_retrain/dagRuns")).count(),
                airflow.requests.toString());
        assertEquals(List.of("kiln_retrain/kiln_drift__9f1c-uuid"), List.copyOf(airflow.triggered.keySet()));
        assertTrue(airflow.requests.contains("GET /api/v2/dags/kiln_retrain/dagRuns/kiln_drift__9f1c-uuid"), airflow.requests.toString());
    }

    @Test
    void aSecondRequestForTheSameDriftRunReturnsTheFirstRun() {
        AirflowRetrainTrigger trigger = new AirflowRetrainTrigger(client(FakeAirflow.PASSWORD), "kiln_retrain");
        String first = trigger.requestRetrain("flight_delay", "psi", "drift-run-8");
        String again = trigger.requestRetrain("flight_delay", "psi", "drift-run-8");
        String other = trigger.requestRetrain("flight_delay", "psi", "drift-run-9");
        assertEquals(first, again);
        assertFalse(first.equals(other));
        assertEquals(2, airflow.triggered.size(), airflow.triggered.keySet().toString());
    }

    @Test
    void triggerOnceStillReportsAConflictThatIsNotItsRunId() {
        AirflowClient client = client(FakeAirflow.PASSWORD);
        Optional<Instant> day = Optional.of(Instant.parse("2024-03-01T00:00:00Z"));
        client.triggerOnce("kiln_flights_daily", Map.of(), "first", day);
        // 409 for a logical date another run has: the run id asked for does not exist, so that is no success
        AirflowException.Conflict e = assertThrows(AirflowException.Conflict.class,
                () -> client.triggerOnce("kiln_flights_daily", Map.of(), "second", day));
        assertTrue(e.getMessage().contains("already has a run for DAG 'kiln_flights_daily' (run id 'second')"), e.getMessage());
        assertEquals(1, airflow.triggered.size());
    }

    @Test
    void retrainRunIdsKeepToWhatAirflowAdmits() {
        assertEquals("kiln_drift__0b6c9a8e-5d1f-4c2e-9a57-3f0f2f8d1e11",
                AirflowRetrainTrigger.runIdFor("0b6c9a8e-5d1f-4c2e-9a57-3f0f2f8d1e11"));
        String odd = AirflowRetrainTrigger.runIdFor("run 1/ä");
        assertTrue(odd.matches("kiln_drift__run_1____[0-9a-f]{12}"), odd);
        assertFalse(odd.equals(AirflowRetrainTrigger.runIdFor("run 1/ö")));
        assertTrue(AirflowRetrainTrigger.runIdFor("x".repeat(400)).length() <= 250);
        assertThrows(IllegalArgumentException.class, () -> AirflowRetrainTrigger.runIdFor(" "));
    }
}
