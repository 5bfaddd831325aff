package dev.kiln.jobs.airflow;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A client of Airflow 3's REST API (v2): trigger DAG runs, read their state and task instances, wait
 * for a run to end. It authenticates with a username and password at {@code POST /auth/token} and
 * sends the JWT it gets as a bearer token, fetching a new one once when Airflow answers 401 to it.
 *
 * <p>Connection failures, timeouts and 5xx answers are retried a bounded number of times with exponential
 * backoff. A retried trigger that had in fact been accepted shows up as {@link AirflowException.Conflict}
 * when it carries a run id; {@link #triggerOnce} turns that into the run already started.
 * Failures are thrown as the subclasses of {@link AirflowException}. The password is never logged.
 */
public final class AirflowClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PAGE = 100;

    private final URI baseUrl;
    private final AirflowCredentials credentials;
    private final Options options;
    private final HttpClient http;
    private String token;

    /**
     * How hard to try. {@code maxAttempts} bounds the tries of one request (connection failures and 5xx);
     * {@code retryBackoff} spaces those tries; {@code pollBackoff} spaces the state reads of {@link #await}.
     */
    public record Options(Duration connectTimeout, Duration requestTimeout, int maxAttempts, Backoff retryBackoff,
            Backoff pollBackoff) {
        public Options {
            requireNonNull(connectTimeout, "connectTimeout is null");
            requireNonNull(requestTimeout, "requestTimeout is null");
            requireNonNull(retryBackoff, "retryBackoff is null");
            requireNonNull(pollBackoff, "pollBackoff is null");
            if (maxAttempts < 1) {
                throw new IllegalArgumentException("maxAttempts must be at least 1, got " + maxAttempts);
            }
        }

        public static Options defaults() {
            return new Options(Duration.ofSeconds(10), Duration.ofSeconds(30), 4,
                    new Backoff(Duration.ofMillis(500), Duration.ofSeconds(8)),
                    new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(15)));
        }

        public static Options of(AirflowSettings settings) {
            Options d = defaults();
            return new Options(d.connectTimeout(), settings.requestTimeout(), settings.maxAttempts(), d.retryBackoff(),
                    d.pollBackoff());
        }
    }

    /** Waits that double from {@code initial} up to {@code max}. */
    public record Backoff(Duration initial, Duration max) {
        public Backoff {
            requireNonNull(initial, "initial is null");
            requireNonNull(max, "max is null");
            if (initial.isNegative() || max.compareTo(initial) < 0) {
                throw new IllegalArgumentException("need 0 <= initial <= max, got " + initial + " and " + max);
            }
        }

        Duration next(Duration previous) {
            Duration doubled = previous.multipliedBy(2);
            return doubled.compareTo(max) > 0 ? max : doubled;
        }
    }

    public AirflowClient(URI baseUrl, AirflowCredentials credentials, Options options) {
        this.baseUrl = requireNonNull(baseUrl, "baseUrl is null");
        this.credentials = requireNonNull(credentials, "credentials is null");
        this.options = requireNonNull(options, "options is null");
        // HTTP/1.1: the api-server (uvicorn) answers 400 to a POST that offers the h2c upgrade, the JDK's default
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(options.connectTimeout())
                .followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /** A client for the {@code kiln.airflow} settings, with credentials from the environment or the credentials file. */
    public static AirflowClient create(AirflowSettings settings, Map<String, String> env) {
        requireNonNull(settings, "settings is null");
        return new AirflowClient(settings.url(), AirflowCredentials.resolve(env, settings.credentialsFile()),
                Options.of(settings));
    }

    public URI baseUrl() {
        return baseUrl;
    }

    /** A fresh access token from {@code POST /auth/token}; the client keeps it for its later requests. */
    public synchronized String authenticate() {
        ObjectNode body = JSON.createObjectNode().put("username", credentials.username()).put("password", credentials.password());
        JsonNode answer = send("POST", "/auth/token", body, false, "the token for user '" + credentials.username() + "'");
        JsonNode t = answer.path("access_token");
        if (!t.isTextual() || t.asText().isEmpty()) {
            throw new AirflowException("Airflow at " + baseUrl + " answered POST /auth/token without an access_token;"
                    + " is kiln.airflow.url an Airflow 3 api-server?");
        }
        token = t.asText();
        return token;
    }

    /** The DAG, to check that it exists and whether it is paused. */
    public Dag dag(String dagId) {
        JsonNode d = get(dagPath(dagId), "DAG '" + dagId + "'");
        return new Dag(d.path("dag_id").asText(dagId), d.path("is_paused").asBoolean(false));
    }

    /** Pauses or unpauses a DAG ({@code PATCH /api/v2/dags/{dag_id}}). */
    public Dag setPaused(String dagId, boolean paused) {
        JsonNode d = send("PATCH", dagPath(dagId) + "?update_mask=is_paused",
                JSON.createObjectNode().put("is_paused", paused), true, "DAG '" + dagId + "'");
        return new Dag(d.path("dag_id").asText(dagId), d.path("is_paused").asBoolean(paused));
    }

    /**
     * Starts a DAG run. Without a run id Airflow makes one up ({@code manual__<time>}); without a logical
     * date the run has none (Airflow 3), and templates that need one ({@code ds}) fail in its tasks.
     *
     * @throws AirflowException.NotFound when the DAG does not exist
     * @throws AirflowException.Conflict when a run with that id (or that logical date) exists already
     */
    public DagRun trigger(String dagId, Map<String, String> conf, Optional<String> runId, Optional<Instant> logicalDate) {
        requireNonNull(conf, "conf is null");
        requireNonNull(runId, "runId is null");
        requireNonNull(logicalDate, "logicalDate is null");
        ObjectNode body = JSON.createObjectNode();
        runId.ifPresent(id -> body.put("dag_run_id", id));
        if (logicalDate.isPresent()) {
            body.put("logical_date", logicalDate.get().toString());
        } else {
            body.putNull("logical_date"); // Airflow 3 requires the field; null means "no logical date"
        }
        ObjectNode c = body.putObject("conf");
        conf.forEach(c::put);
        return dagRun(send("POST", dagPath(dagId) + "/dagRuns", body, true,
                "DAG '" + dagId + "'" + runId.map(id -> " (run id '" + id + "')").orElse("")));
    }

    /**
     * Starts the DAG run {@code runId} unless it exists: idempotent per run id. When Airflow answers 409 to
     * the request (its earlier try was accepted but the answer was lost, or another process triggered the same
     * id), the existing run is read and returned, so a retried request never starts a second run.
     *
     * @return the run started by this call, or the run that already had that id
     * @throws AirflowException.Conflict when the conflict is not the run id (another run has that logical date)
     */
    public DagRun triggerOnce(String dagId, Map<String, String> conf, String runId, Optional<Instant> logicalDate) {
        requireNonNull(runId, "runId is null");
        try {
            return trigger(dagId, conf, Optional.of(runId), logicalDate);
        } catch (AirflowException.Conflict conflict) {
            try {
                return dagRun(dagId, runId);
            } catch (AirflowException.NotFound notThatId) {
                throw conflict;
            }
        }
    }

    /** One run's current state. */
    public DagRun dagRun(String dagId, String runId) {
        return dagRun(get(runPath(dagId, runId), "DAG run '" + runId + "' of DAG '" + dagId + "'"));
    }

    /** The DAG's most recent runs, newest first (at most {@code limit}). */
    public List<DagRun> dagRuns(String dagId, int limit) {
        if (limit < 1 || limit > PAGE) {
            throw new IllegalArgumentException("limit must be between 1 and " + PAGE + ", got " + limit);
        }
        JsonNode page = get(dagPath(dagId) + "/dagRuns?order_by=-run_after&limit=" + limit, "DAG '" + dagId + "'");
        List<DagRun> runs = new ArrayList<>();
        page.path("dag_runs").forEach(r -> runs.add(dagRun(r)));
        return List.copyOf(runs);
    }

    /** The task instances of a run, in Airflow's order. */
    public List<TaskInstance> taskInstances(String dagId, String runId) {
        List<TaskInstance> out = new ArrayList<>();
        String what = "DAG run '" + runId + "' of DAG '" + dagId + "'";
        for (int offset = 0; ; offset += PAGE) {
            JsonNode page = get(runPath(dagId, runId) + "/taskInstances?limit=" + PAGE + "&offset=" + offset, what);
            page.path("task_instances").forEach(t -> out.add(new TaskInstance(t.path("task_id").asText(),
                    t.path("state").isTextual() ? t.path("state").asText() : "none", t.path("try_number").asInt(0),
                    instant(t.path("start_date")), instant(t.path("end_date")),
                    t.path("duration").isNumber() ? Optional.of(t.path("duration").asDouble()) : Optional.empty())));
            if (page.path("task_instances").size() < PAGE || out.size() >= page.path("total_entries").asInt(0)) {
                return List.copyOf(out);
            }
        }
    }

    /** The DAG files the dag-processor could not import. */
    public List<ImportError> importErrors() {
        List<ImportError> out = new ArrayList<>();
        get("/api/v2/importErrors?limit=" + PAGE, "import errors").path("import_errors").forEach(e ->
                out.add(new ImportError(e.path("filename").asText(), e.path("stack_trace").asText())));
        return List.copyOf(out);
    }

    /**
     * Reads the run's state until it is terminal, waiting between reads with the poll backoff, and
     * returns the final run. {@code onChange} sees each state change (including the first state read).
     *
     * @throws AirflowException.Timeout when the run is not terminal after {@code timeout}; it goes on in Airflow
     */
    public DagRun await(String dagId, String runId, Duration timeout, Consumer<DagRun> onChange) {
        requireNonNull(timeout, "timeout is null");
        requireNonNull(onChange, "onChange is null");
        Instant deadline = Instant.now().plus(timeout);
        Duration wait = options.pollBackoff().initial();
        DagRunState last = null;
        while (true) {
            DagRun run = dagRun(dagId, runId);
            if (run.state() != last) {
                onChange.accept(run);
                last = run.state();
            }
            if (run.state().terminal()) {
                return run;
            }
            Duration left = Duration.between(Instant.now(), deadline);
            if (left.isNegative() || left.isZero()) {
                throw new AirflowException.Timeout("DAG run '" + runId + "' of DAG '" + dagId + "' is still " + run.state().text()
                        + " after " + (timeout.toMillis() < 1000 ? timeout.toMillis() + "ms" : timeout.toSeconds() + "s") + "; it goes on in Airflow (see: kiln airflow status " + dagId + " "
                        + runId + ")");
            }
            sleep(wait.compareTo(left) < 0 ? wait : left);
            wait = options.pollBackoff().next(wait);
        }
    }

    private JsonNode get(String path, String what) {
        return send("GET", path, null, true, what);
    }

    /**
     * One request with the bounded retries. {@code what} names the thing asked about, for the messages.
     */
    private JsonNode send(String method, String path, JsonNode body, boolean authenticated, String what) {
        URI uri = URI.create(baseUrl + path);
        Duration wait = options.retryBackoff().initial();
        boolean refreshedToken = false;
        for (int attempt = 1; ; attempt++) {
            HttpResponse<String> response;
            try {
                HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(options.requestTimeout())
                        .header("Accept", "application/json")
                        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                                : HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body), StandardCharsets.UTF_8));
                if (body != null) {
                    request.header("Content-Type", "application/json");
                }
                if (authenticated) {
                    request.header("Authorization", "Bearer " + currentToken());
                }
                response = http.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            } catch (ConnectException | HttpConnectTimeoutException e) {
                if (attempt >= options.maxAttempts()) {
                    throw new AirflowException.Unreachable("cannot reach Airflow at " + baseUrl + " (" + method + " " + path + ", "
                            + attempt + " attempts): " + describe(e) + "; is the api-server running, and is kiln.airflow.url right?", e);
                }
                wait = pause(wait);
                continue;
            } catch (HttpTimeoutException e) {
                if (attempt >= options.maxAttempts()) {
                    throw new AirflowException.Unreachable("Airflow at " + baseUrl + " did not answer " + method + " " + path
                            + " within " + options.requestTimeout().toSeconds() + "s (" + attempt + " attempts)", e);
                }
                wait = pause(wait);
                continue;
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("cannot write a JSON request body", e);
            } catch (IOException e) {
                if (attempt >= options.maxAttempts()) {
                    throw new AirflowException.Unreachable("request to Airflow at " + baseUrl + " failed (" + method + " " + path
                            + ", " + attempt + " attempts): " + describe(e), e);
                }
                wait = pause(wait);
                continue;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AirflowException("interrupted while talking to Airflow at " + baseUrl, e);
            }

            int status = response.statusCode();
            if (status >= 200 && status < 300) {
                return parse(response.body(), method, path);
            }
            if ((status == 401 || status == 403) && authenticated && !refreshedToken) {
                synchronized (this) {
                    token = null; // Airflow answers an expired or invalid JWT with 403: log in again, once
                }
                refreshedToken = true;
                attempt--;
                continue;
            }
            String detail = detail(response.body());
            if (status == 401 || status == 403) {
                throw new AirflowException.Unauthorized("Airflow at " + baseUrl + " refused user '" + credentials.username() + "' ("
                        + status + " on " + method + " " + path + (detail.isEmpty() ? "" : ": " + detail) + "); check "
                        + AirflowCredentials.USERNAME_ENV + "/" + AirflowCredentials.PASSWORD_ENV
                        + " or kiln.airflow.credentials-file, and the user's role");
            }
            if (status == 404) {
                throw new AirflowException.NotFound("Airflow at " + baseUrl + " has no " + what
                        + (detail.isEmpty() ? "" : " (" + detail + ")")
                        + (what.startsWith("DAG '") ? "; is the DAG file in Airflow's dags folder and free of import errors?" : ""));
            }
            if (status == 409) {
                throw new AirflowException.Conflict("Airflow at " + baseUrl + " already has a run for " + what
                        + (detail.isEmpty() ? "" : " (" + detail + ")") + "; pick another run id or logical date");
            }
            if (status >= 500) {
                if (attempt >= options.maxAttempts()) {
                    throw new AirflowException.ServerError("Airflow at " + baseUrl + " answered " + status + " to " + method + " "
                            + path + " " + attempt + " times" + (detail.isEmpty() ? "" : ": " + detail));
                }
                wait = pause(wait);
                continue;
            }
            throw new AirflowException("Airflow at " + baseUrl + " refused " + method + " " + path + " for " + what + " with "
                    + status + (detail.isEmpty() ? "" : ": " + detail));
        }
    }

    private synchronized String currentToken() {
        return token != null ? token : authenticate();
    }

    private Duration pause(Duration wait) {
        sleep(wait);
        return options.retryBackoff().next(wait);
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AirflowException("interrupted while waiting for Airflow", e);
        }
    }

    private JsonNode parse(String body, String method, String path) {
        if (body == null || body.isBlank()) {
            return JSON.createObjectNode();
        }
        try {
            return JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw new AirflowException("Airflow at " + baseUrl + " answered " + method + " " + path + " with something that is"
                    + " not JSON (is kiln.airflow.url the api-server?): " + abbreviate(body), e);
        }
    }

    /** Airflow's error text: {@code detail} is a string, or a list of validation errors, or an object. */
    private static String detail(String body) {
        if (body == null || body.isBlank()) {
            return "";
        }
        try {
            JsonNode d = JSON.readTree(body).path("detail");
            if (d.isTextual()) {
                return abbreviate(d.asText());
            }
            if (d.isArray()) {
                List<String> parts = new ArrayList<>();
                d.forEach(e -> parts.add(e.path("loc") + " " + e.path("msg").asText()));
                return abbreviate(String.join("; ", parts));
            }
            if (d.isObject()) { // a database error: {reason, statement, orig_error, message}
                return abbreviate(d.path("orig_error").asText(d.path("reason").asText(d.toString())));
            }
            return abbreviate(d.isMissingNode() ? body : d.toString());
        } catch (JsonProcessingException e) {
            return abbreviate(body);
        }
    }

    private static String abbreviate(String s) {
        String line = s.strip().replaceAll("\\s+", " ");
        return line.length() <= 300 ? line : line.substring(0, 300) + "...";
    }

    private static String describe(Exception e) {
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    private static DagRun dagRun(JsonNode r) {
        return new DagRun(r.path("dag_id").asText(), r.path("dag_run_id").asText(), DagRunState.parse(r.path("state").asText()),
                instant(r.path("logical_date")), instant(r.path("start_date")), instant(r.path("end_date")));
    }

    private static Optional<Instant> instant(JsonNode n) {
        return n.isTextual() && !n.asText().isEmpty() ? Optional.of(OffsetDateTime.parse(n.asText()).toInstant()) : Optional.empty();
    }

    private static String dagPath(String dagId) {
        requireNonNull(dagId, "dagId is null");
        return "/api/v2/dags/" + segment(dagId);
    }

    private static String runPath(String dagId, String runId) {
        requireNonNull(runId, "runId is null");
        return dagPath(dagId) + "/dagRuns/" + segment(runId);
    }

    /** Run ids carry ':' and '+' (manual__2024-03-01T00:00:00+00:00): encode them as one path segment. */
    private static String segment(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
