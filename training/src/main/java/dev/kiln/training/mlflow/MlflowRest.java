package dev.kiln.training.mlflow;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.config.Credentials;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;

/**
 * MLflow's REST API 2.0, the calls Kiln's mirror makes (tracking, model registry, the artifact proxy of
 * {@code mlflow server}), with the JDK's HTTP client and Jackson. An error answer becomes an {@link Error} carrying
 * MLflow's error code; the login is never logged.
 */
final class MlflowRest {
    /** An error MLflow answered with (or no answer at all: code {@code UNREACHABLE}). */
    static final class Error extends KilnException {
        final String code;

        Error(String code, String message) {
            super(message);
            this.code = code;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private final URI base;
    private final HttpClient http;
    private final Duration timeout;
    private final Optional<String> authorization;

    MlflowRest(MlflowSettings settings, Map<String, String> env) {
        if (!settings.enabled()) {
            throw new IllegalStateException("the MLflow mirror is off: nothing may connect");
        }
        this.base = settings.trackingUri().orElseThrow();
        this.timeout = Duration.ofSeconds(settings.timeoutSeconds());
        this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
        this.authorization = authorization(settings, env);
    }

    private static Optional<String> authorization(MlflowSettings settings, Map<String, String> env) {
        String token = env.getOrDefault(MlflowSettings.TOKEN_ENV, "");
        if (!token.isBlank()) {
            return Optional.of("Bearer " + token.trim());
        }
        boolean basic = !env.getOrDefault(MlflowSettings.USER_ENV, "").isBlank() || settings.credentialsFile().isPresent();
        if (!basic) {
            return Optional.empty();
        }
        Credentials c = MlflowSettings.CREDENTIALS.resolve(env, settings.credentialsFile());
        return Optional.of("Basic " + Base64.getEncoder().encodeToString((c.user() + ":" + c.password())
                .getBytes(StandardCharsets.UTF_8)));
    }

    ObjectNode object() {
        return JSON.createObjectNode();
    }

    JsonNode get(String path, Map<String, String> query) {
        StringBuilder q = new StringBuilder();
        query.forEach((k, v) -> q.append(q.length() == 0 ? "?" : "&").append(k).append('=')
                .append(URLEncoder.encode(v, StandardCharsets.UTF_8)));
        return send(HttpRequest.newBuilder(URI.create(base + "/api/2.0/mlflow/" + path + q)).GET(), path);
    }

    JsonNode post(String path, ObjectNode body) {
        return send(HttpRequest.newBuilder(URI.create(base + "/api/2.0/mlflow/" + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())), path);
    }

    /** Uploads one file through the tracking server's artifact proxy ({@code mlflow-artifacts:/<path>}). */
    void putArtifact(String path, byte[] content) {
        String encoded = java.util.Arrays.stream(path.split("/")).map(p -> URLEncoder.encode(p, StandardCharsets.UTF_8)
                .replace("+", "%20")).reduce((a, b) -> a + "/" + b).orElse("");
        send(HttpRequest.newBuilder(URI.create(base + "/api/2.0/mlflow-artifacts/artifacts/" + encoded))
                .header("Content-Type", "application/octet-stream").PUT(HttpRequest.BodyPublishers.ofByteArray(content)), "artifacts");
    }

    private JsonNode send(HttpRequest.Builder request, String what) {
        request.timeout(timeout);
        authorization.ifPresent(a -> request.header("Authorization", a));
        HttpResponse<String> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new Error("UNREACHABLE", "MLflow at " + base + " is unreachable (" + what + "): "
                    + KilnException.firstLine(String.valueOf(e.getMessage() == null ? e : e.getMessage())));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Error("UNREACHABLE", "interrupted while calling MLflow (" + what + ")");
        }
        JsonNode body;
        try {
            body = response.body().isBlank() ? JSON.createObjectNode() : JSON.readTree(response.body());
        } catch (IOException e) {
            body = JSON.createObjectNode().put("message", response.body());
        }
        if (response.statusCode() / 100 != 2) {
            throw new Error(body.path("error_code").asText("HTTP_" + response.statusCode()), "MLflow " + what + " answered "
                    + response.statusCode() + ": " + KilnException.firstLine(body.path("message").asText(response.body())));
        }
        return body;
    }

    static ArrayNode keyValues(ObjectNode parent, String field, Map<String, String> values) {
        ArrayNode out = parent.putArray(field);
        values.forEach((k, v) -> out.addObject().put("key", k).put("value", v));
        return out;
    }
}
