package dev.kiln.lakehouse.lineage;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.TableName;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.function.Consumer;

/**
 * OpenLineage run events (spec 2-0-2) for Kiln's jobs: START when a job starts, COMPLETE or FAIL when it ends, with the
 * Delta tables it read and wrote as datasets (namespace: the lakehouse root; name: the table; the Delta version as
 * the {@code version} dataset facet), Kiln's run id as the run's id and the scheduler's run as its {@code parent}
 * facet. Sent over HTTP or appended to a file; a failure to send is one warning line, never the job's failure.
 */
public final class OpenLineageEvents {
    static final String SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
    static final String PRODUCER = "https://github.com/kiln-platform/kiln";
    private static final String VERSION_FACET = "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet";
    private static final String PARENT_FACET = "https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet";
    private static final String ERROR_FACET = "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet";
    private static final String JOB_TYPE_FACET = "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final LineageSettings settings;
    private final String datasetNamespace;
    private final Consumer<String> warn;
    private final HttpClient http;

    public OpenLineageEvents(LineageSettings settings, String datasetNamespace, Consumer<String> warn) {
        this.settings = requireNonNull(settings, "settings is null");
        this.datasetNamespace = requireNonNull(datasetNamespace, "datasetNamespace is null");
        this.warn = requireNonNull(warn, "warn is null");
        this.http = settings.url().isPresent()
                ? HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(settings.timeoutSeconds())).build() : null;
    }

    public void start(String runId, String job) {
        send(event("START", runId, job, null, null));
    }

    public void complete(String runId, String job, LineageRun datasets) {
        send(event("COMPLETE", runId, job, datasets, null));
    }

    public void fail(String runId, String job, LineageRun datasets, String message) {
        send(event("FAIL", runId, job, datasets, message));
    }

    ObjectNode event(String type, String runId, String job, LineageRun datasets, String error) {
        ObjectNode e = JSON.createObjectNode();
        e.put("eventType", type);
        e.put("eventTime", Instant.now().toString());
        e.put("producer", PRODUCER);
        e.put("schemaURL", SPEC);
        ObjectNode run = e.putObject("run");
        run.put("runId", runId);
        ObjectNode runFacets = run.putObject("facets");
        settings.parentRunId().ifPresent(parent -> {
            ObjectNode p = facet(runFacets, "parent", PARENT_FACET);
            p.putObject("run").put("runId", parent);
            p.putObject("job").put("namespace", settings.parentJobNamespace()).put("name", settings.parentJobName().orElseThrow());
        });
        if (error != null) {
            facet(runFacets, "errorMessage", ERROR_FACET).put("message", error).put("programmingLanguage", "Java");
        }
        ObjectNode j = e.putObject("job");
        j.put("namespace", settings.namespace());
        j.put("name", job);
        facet(j.putObject("facets"), "jobType", JOB_TYPE_FACET).put("processingType", "BATCH").put("integration", "KILN")
                .put("jobType", "JOB");
        datasets(e.putArray("inputs"), datasets == null ? Map.of() : datasets.inputs());
        datasets(e.putArray("outputs"), datasets == null ? Map.of() : datasets.outputs());
        return e;
    }

    private void datasets(ArrayNode out, Map<TableName, Long> tables) {
        tables.forEach((table, version) -> {
            ObjectNode d = out.addObject();
            d.put("namespace", datasetNamespace);
            d.put("name", table.toString());
            ObjectNode facets = d.putObject("facets");
            if (version >= 0) {
                facet(facets, "version", VERSION_FACET).put("datasetVersion", String.valueOf(version));
            }
        });
    }

    private static ObjectNode facet(ObjectNode facets, String name, String schema) {
        ObjectNode f = facets.putObject(name);
        f.put("_producer", PRODUCER);
        f.put("_schemaURL", schema);
        return f;
    }

    private void send(ObjectNode event) {
        String body = event.toString();
        try {
            if (settings.file().isPresent()) {
                Files.writeString(settings.file().get(), body + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND);
            }
            if (settings.url().isPresent()) {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(settings.url().get()).timeout(Duration.ofSeconds(
                        settings.timeoutSeconds())).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() / 100 != 2) {
                    throw new IOException("HTTP " + r.statusCode() + " " + KilnException.firstLine(r.body()));
                }
            }
        } catch (IOException e) {
            warn.accept("warning: OpenLineage " + event.path("eventType").asText() + " event not sent (" + KilnException.firstLine(
                    String.valueOf(e.getMessage())) + "); the job goes on");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
