package dev.kiln.jobs.airflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A stand-in for Airflow 3's api-server with the answers the real one gives (checked against Airflow 3.1:
 * 201 from /auth/token, 401 for a bad password, 403 for an invalid JWT, 404 with a detail text for an
 * unknown DAG, 409 with a database-error detail object for a duplicate run id, 422 without logical_date,
 * 400 to a request offering the HTTP/2 upgrade).
 * AirflowIT runs the same client against a real Airflow.
 */
final class FakeAirflow implements AutoCloseable {
    static final String USER = "kiln";
    static final String PASSWORD = "s3cret-pw";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    final Set<String> dags = Collections.synchronizedSet(new java.util.HashSet<>(Set.of("kiln_flights_daily", "kiln_retrain")));
    /** States a run reports, one per read; the last one sticks. */
    final Map<String, Deque<String>> states = Collections.synchronizedMap(new HashMap<>());
    final Map<String, JsonNode> triggered = Collections.synchronizedMap(new LinkedHashMap<>());
    final List<String> requests = Collections.synchronizedList(new ArrayList<>());
    final AtomicInteger tokensIssued = new AtomicInteger();
    /** The next this many requests to /api/v2 answer 503. */
    final AtomicInteger failNext = new AtomicInteger();
    volatile String validToken = "token-1";
    volatile List<String> initialStates = List.of("queued", "running", "success");
    /** When positive: the next trigger is accepted, but its answer comes this many milliseconds late. */
    final java.util.concurrent.atomic.AtomicLong delayNextTriggerAnswerMillis = new java.util.concurrent.atomic.AtomicLong();

    FakeAirflow() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool()); // a late answer must not hold up the next request
        server.start();
    }

    URI url() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    private void handle(HttpExchange x) throws IOException {
        try (x) {
            String method = x.getRequestMethod();
            String path = x.getRequestURI().getRawPath();
            String body = new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            requests.add(method + " " + path);
            if (x.getRequestHeaders().containsKey("Upgrade")) { // uvicorn's answer to the JDK's h2c upgrade offer
                answer(x, 400, JSON.createObjectNode().put("detail", "Invalid HTTP request received."));
                return;
            }
            if (path.equals("/auth/token") && method.equals("POST")) {
                JsonNode creds = JSON.readTree(body);
                if (USER.equals(creds.path("username").asText()) && PASSWORD.equals(creds.path("password").asText())) {
                    tokensIssued.incrementAndGet();
                    answer(x, 201, JSON.createObjectNode().put("access_token", validToken));
                } else {
                    answer(x, 401, JSON.createObjectNode().put("detail", "Invalid credentials"));
                }
                return;
            }
            if (!("Bearer " + validToken).equals(x.getRequestHeaders().getFirst("Authorization"))) {
                answer(x, 403, JSON.createObjectNode().put("detail", "Invalid JWT token"));
                return;
            }
            if (failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                answer(x, 503, JSON.createObjectNode().put("detail", "database is locked"));
                return;
            }
            String[] p = path.split("/"); // "", api, v2, dags, {dag}, dagRuns, {run}, taskInstances
            if (p.length < 5 || !p[3].equals("dags")) {
                answer(x, 404, JSON.createObjectNode().put("detail", "Not Found"));
                return;
            }
            String dag = URLDecoder.decode(p[4], StandardCharsets.UTF_8);
            if (!dags.contains(dag)) {
                answer(x, 404, JSON.createObjectNode().put("detail", "DAG with dag_id: '" + dag + "' not found"));
                return;
            }
            if (p.length == 5) {
                answer(x, 200, JSON.createObjectNode().put("dag_id", dag).put("is_paused", false));
            } else if (p.length == 6 && method.equals("POST")) {
                trigger(x, dag, JSON.readTree(body));
            } else if (p.length == 7) {
                String run = URLDecoder.decode(p[6], StandardCharsets.UTF_8);
                Deque<String> s = states.get(dag + "/" + run);
                if (s == null) {
                    answer(x, 404, JSON.createObjectNode().put("detail", "The DagRun with dag_id: `" + dag + "` and run_id: `" + run
                            + "` was not found"));
                    return;
                }
                String state = s.size() > 1 ? s.poll() : s.peek();
                answer(x, 200, run(dag, run, state));
            } else if (p.length == 8 && p[7].equals("taskInstances")) {
                ObjectNode page = JSON.createObjectNode().put("total_entries", 2);
                page.putArray("task_instances").add(JSON.createObjectNode().put("task_id", "ingest").put("state", "success")
                        .put("try_number", 1).put("duration", 12.5).put("start_date", "2024-03-02T00:00:01.5Z"))
                        .add(JSON.createObjectNode().put("task_id", "score").putNull("state").put("try_number", 0));
                answer(x, 200, page);
            } else {
                answer(x, 405, JSON.createObjectNode().put("detail", "Method Not Allowed"));
            }
        }
    }

    private void trigger(HttpExchange x, String dag, JsonNode body) throws IOException {
        if (!body.has("logical_date")) {
            answer(x, 422, JSON.readTree("{\"detail\":[{\"type\":\"missing\",\"loc\":[\"body\",\"logical_date\"],\"msg\":\"Field required\"}]}"));
            return;
        }
        String run = body.path("dag_run_id").asText("manual__2024-03-02T10:00:00.123456+00:00");
        boolean exists;
        synchronized (states) { // one run per id, also when requests overlap
            exists = states.containsKey(dag + "/" + run) || (!body.path("logical_date").isNull() && triggered.entrySet().stream()
                    .anyMatch(e -> e.getKey().startsWith(dag + "/") && e.getValue().path("logical_date").equals(body.path("logical_date"))));
            if (!exists) {
                triggered.put(dag + "/" + run, body);
                states.put(dag + "/" + run, new ArrayDeque<>(initialStates));
            }
        }
        if (exists) {
            ObjectNode detail = JSON.createObjectNode();
            detail.putObject("detail").put("reason", "Unique constraint violation").put("statement", "INSERT INTO dag_run ...")
                    .put("orig_error", "UNIQUE constraint failed: dag_run.dag_id, dag_run.run_id");
            answer(x, 409, detail);
            return;
        }
        ObjectNode r = run(dag, run, "queued");
        r.set("logical_date", body.get("logical_date"));
        long delay = delayNextTriggerAnswerMillis.getAndSet(0);
        if (delay > 0) {
            try {
                Thread.sleep(delay); // accepted, answered after the client stopped waiting
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        answer(x, 200, r);
    }

    private static ObjectNode run(String dag, String run, String state) {
        ObjectNode r = JSON.createObjectNode().put("dag_id", dag).put("dag_run_id", run).put("state", state)
                .putNull("logical_date").put("queued_at", "2024-03-02T10:00:00.123456Z").put("run_type", "manual");
        if (!state.equals("queued")) {
            r.put("start_date", "2024-03-02T10:00:01Z");
        }
        if (state.equals("success") || state.equals("failed")) {
            r.put("end_date", "2024-03-02T10:05:00Z");
        }
        return r;
    }

    private static void answer(HttpExchange x, int status, JsonNode body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        x.getResponseHeaders().set("Content-Type", "application/json");
        x.sendResponseHeaders(status, bytes.length);
        x.getResponseBody().write(bytes);
    }

    @Override
    public void close() {
        server.stop(0);
        ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    }
}
