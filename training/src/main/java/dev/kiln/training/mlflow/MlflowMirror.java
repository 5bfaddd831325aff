package dev.kiln.training.mlflow;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.col;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.runlog.JobRunLog;
import dev.kiln.training.registry.ModelRegistry;
import dev.kiln.training.registry.ModelVersion;
import dev.kiln.training.registry.TrainingRuns;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.sql.Row;

/**
 * Mirrors Kiln's registry into an MLflow tracking server: for each registered version MLflow lacks, one parent run
 * (the chosen parameters, validation metrics and decision threshold, lineage tags, the training set as a dataset
 * input, the version's directory as the {@code model} artifact) with one child run per grid point
 * ({@code ml.training_runs}), and the registered model version with the same number; then every alias of
 * {@code ml.model_aliases}. What MLflow already has is left alone, so a second sync changes nothing.
 */
public final class MlflowMirror {
    /** What a sync did. */
    public record Outcome(int runs, int versions, int aliases) {
        public boolean nothing() {
            return runs == 0 && versions == 0 && aliases == 0;
        }

        public String summary() {
            return nothing() ? "MLflow is level with Kiln's registry: nothing to mirror"
                    : String.format("mirrored to MLflow: %d run(s), %d model version(s), %d alias(es)", runs, versions, aliases);
        }
    }

    private final Lakehouse lakehouse;
    private final MlflowSettings settings;
    private final MlflowRest rest;
    private final Consumer<String> progress;

    public MlflowMirror(Lakehouse lakehouse, MlflowSettings settings, Map<String, String> env, Consumer<String> progress) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
        this.settings = requireNonNull(settings, "settings is null");
        this.rest = new MlflowRest(settings, env);
        this.progress = requireNonNull(progress, "progress is null");
    }

    /** Mirrors {@code model}'s versions and aliases (every model's when empty). */
    public Outcome sync(Optional<String> model) {
        if (!lakehouse.exists(ModelRegistry.MODELS)) {
            return new Outcome(0, 0, 0);
        }
        ModelRegistry registry = new ModelRegistry(lakehouse);
        Map<String, List<Integer>> versions = new TreeMap<>();
        for (Row r : registry.list().select("name", "version").collectAsList()) {
            if (model.isEmpty() || model.get().equals(r.getString(0))) {
                versions.computeIfAbsent(r.getString(0), k -> new ArrayList<>()).add(r.getInt(1));
            }
        }
        int runs = 0;
        int created = 0;
        int aliases = 0;
        String experiment = null;
        for (Map.Entry<String, List<Integer>> m : versions.entrySet()) {
            String name = m.getKey();
            ensureRegisteredModel(name);
            TreeSet<Integer> mirrored = mirroredVersions(name);
            for (int v : new TreeSet<>(m.getValue())) {
                if (mirrored.contains(v)) {
                    continue;
                }
                int next = mirrored.isEmpty() ? 1 : mirrored.last() + 1;
                if (next != v) {
                    throw new KilnException("MLflow's registry holds versions " + mirrored + " of " + name + ": Kiln's version " + v
                            + " would become MLflow's version " + next + "; mirror into an empty registered model (or another"
                            + " tracking server) so that the numbers stay the same");
                }
                if (experiment == null) {
                    experiment = experimentId();
                }
                ModelVersion version = registry.get(name, v);
                Optional<JsonNode> run = finishedRun(experiment, name, v);
                if (run.isEmpty()) {
                    run = Optional.of(logRun(experiment, version));
                    runs++;
                }
                String runId = run.get().path("info").path("run_id").asText();
                String source = run.get().path("info").path("artifact_uri").asText() + "/model";
                ObjectNode body = rest.object().put("name", name).put("source", source).put("run_id", runId);
                MlflowRest.keyValues(body, "tags", Map.of("kiln.uri", version.uri()));
                int got = rest.post("model-versions/create", body).path("model_version").path("version").asInt();
                if (got != v) {
                    throw new KilnException("MLflow registered " + name + " version " + got + " for Kiln's version " + v
                            + " (another client registered a version meanwhile?)");
                }
                mirrored.add(v);
                created++;
                progress.accept("MLflow: " + version.uri() + " registered (run " + runId + ")");
            }
            aliases += syncAliases(name);
        }
        return new Outcome(runs, created, aliases);
    }

    private void ensureRegisteredModel(String name) {
        try {
            rest.get("registered-models/get", Map.of("name", name));
        } catch (MlflowRest.Error e) {
            if (!"RESOURCE_DOES_NOT_EXIST".equals(e.code)) {
                throw e;
            }
            rest.post("registered-models/create", rest.object().put("name", name));
        }
    }

    private TreeSet<Integer> mirroredVersions(String name) {
        TreeSet<Integer> out = new TreeSet<>();
        String token = "";
        do {
            Map<String, String> query = new LinkedHashMap<>();
            query.put("filter", "name='" + name.replace("'", "\\'") + "'");
            query.put("max_results", "1000");
            if (!token.isEmpty()) {
                query.put("page_token", token);
            }
            JsonNode page = rest.get("model-versions/search", query);
            page.path("model_versions").forEach(v -> out.add(v.path("version").asInt()));
            token = page.path("next_page_token").asText("");
        } while (!token.isEmpty());
        return out;
    }

    private String experimentId() {
        try {
            return rest.get("experiments/get-by-name", Map.of("experiment_name", settings.experiment()))
                    .path("experiment").path("experiment_id").asText();
        } catch (MlflowRest.Error e) {
            if (!"RESOURCE_DOES_NOT_EXIST".equals(e.code)) {
                throw e;
            }
            return rest.post("experiments/create", rest.object().put("name", settings.experiment())).path("experiment_id").asText();
        }
    }

    /** The finished parent run an earlier sync logged for this version; one left unfinished (a sync that died) is failed. */
    private Optional<JsonNode> finishedRun(String experiment, String name, int version) {
        ObjectNode search = rest.object();
        search.putArray("experiment_ids").add(experiment);
        search.put("filter", "tags.`kiln.model` = '" + name.replace("'", "\\'") + "' AND tags.`kiln.version` = '" + version
                + "' AND tags.`kiln.role` = 'version'");
        search.put("max_results", 100);
        for (JsonNode run : rest.post("runs/search", search).path("runs")) {
            if ("FINISHED".equals(run.path("info").path("status").asText())) {
                return Optional.of(run);
            }
            rest.post("runs/update", rest.object().put("run_id", run.path("info").path("run_id").asText()).put("status", "FAILED")
                    .put("end_time", System.currentTimeMillis()));
        }
        return Optional.empty();
    }

    /** Logs the version's parent run, its candidates as child runs and its directory as the model artifact. */
    private JsonNode logRun(String experiment, ModelVersion v) {
        long start = v.createdAt().toEpochMilli();
        Map<String, String> tags = new LinkedHashMap<>();
        tags.put("mlflow.runName", v.name() + " v" + v.version());
        tags.put("kiln.model", v.name());
        tags.put("kiln.version", String.valueOf(v.version()));
        tags.put("kiln.role", "version");
        tags.put("kiln.uri", v.uri());
        tags.put("kiln.run_id", v.runId());
        tags.put("kiln.training_set_id", v.trainingSetId());
        tags.put("kiln.feature_set_versions", String.join(",", new TreeSet<>(v.featureRefs().stream()
                .map(r -> r.contains(":") ? r.substring(0, r.indexOf(':')) : r).toList())));
        tags.put("kiln.inputs", new TreeMap<>(v.inputs()).toString());
        tags.put("kiln.algorithm", v.algorithm());
        sparkApplication(v.runId()).ifPresent(id -> tags.put("kiln.spark_app_id", id));
        gitCommit().ifPresent(c -> tags.put("mlflow.source.git.commit", c));
        ObjectNode create = rest.object().put("experiment_id", experiment).put("run_name", v.name() + " v" + v.version())
                .put("start_time", start);
        MlflowRest.keyValues(create, "tags", tags);
        JsonNode run = rest.post("runs/create", create).path("run");
        String runId = run.path("info").path("run_id").asText();

        Map<String, Double> metrics = new TreeMap<>(v.metrics());
        v.decision().ifPresent(d -> {
            metrics.put("decision_threshold", d.threshold());
            metrics.put("decision_precision", d.precision());
            metrics.put("decision_recall", d.recall());
            metrics.put("decision_f1", d.f1());
        });
        logBatch(runId, new TreeMap<>(v.params()), metrics, start);
        ObjectNode inputs = rest.object().put("run_id", runId);
        ObjectNode dataset = inputs.putArray("datasets").addObject();
        dataset.putArray("tags").addObject().put("key", "mlflow.data.context").put("value", "training");
        dataset.putObject("dataset").put("name", "training set " + v.trainingSetId()).put("digest", v.trainingSetId())
                .put("source_type", "delta").put("source", rest.object().put("kiln_training_set_id", v.trainingSetId())
                        .put("inputs", new TreeMap<>(v.inputs()).toString()).toString());
        rest.post("runs/log-inputs", inputs);

        for (Row c : candidates(v)) {
            Map<String, String> childTags = new LinkedHashMap<>();
            childTags.put("mlflow.parentRunId", runId);
            childTags.put("kiln.model", v.name());
            childTags.put("kiln.version", String.valueOf(v.version()));
            childTags.put("kiln.role", "candidate");
            childTags.put("kiln.candidate", String.valueOf(c.<Integer>getAs("candidate")));
            childTags.put("kiln.chosen", String.valueOf(c.<Boolean>getAs("chosen")));
            ObjectNode child = rest.object().put("experiment_id", experiment)
                    .put("run_name", v.name() + " v" + v.version() + " candidate " + c.<Integer>getAs("candidate")).put("start_time", start);
            MlflowRest.keyValues(child, "tags", childTags);
            String childId = rest.post("runs/create", child).path("run").path("info").path("run_id").asText();
            Map<String, Double> childMetrics = new TreeMap<>(scala.jdk.javaapi.CollectionConverters.asJava(
                    c.<scala.collection.Map<String, Double>>getAs("metrics")));
            if (!c.isNullAt(c.fieldIndex("fit_seconds"))) {
                childMetrics.put("fit_seconds", c.<Double>getAs("fit_seconds"));
            }
            logBatch(childId, new TreeMap<>(scala.jdk.javaapi.CollectionConverters.asJava(
                    c.<scala.collection.Map<String, String>>getAs("params"))), childMetrics, start);
            rest.post("runs/update", rest.object().put("run_id", childId).put("status", "FINISHED").put("end_time", start));
        }
        uploadModel(run.path("info").path("artifact_uri").asText(), v.artifactPath());
        rest.post("runs/update", rest.object().put("run_id", runId).put("status", "FINISHED").put("end_time", System.currentTimeMillis()));
        return rest.get("runs/get", Map.of("run_id", runId)).path("run");
    }

    private void logBatch(String runId, Map<String, String> params, Map<String, Double> metrics, long timestamp) {
        ObjectNode batch = rest.object().put("run_id", runId);
        MlflowRest.keyValues(batch, "params", params);
        ArrayNode m = batch.putArray("metrics");
        metrics.forEach((k, x) -> {
            if (!x.isNaN() && !x.isInfinite()) {
                m.addObject().put("key", k).put("value", x).put("timestamp", timestamp).put("step", 0);
            }
        });
        rest.post("runs/log-batch", batch);
    }

    private List<Row> candidates(ModelVersion v) {
        if (!lakehouse.exists(TrainingRuns.TABLE)) {
            return List.of();
        }
        return lakehouse.read(TrainingRuns.TABLE).where(col("model_name").equalTo(v.name()).and(col("model_version").equalTo(v.version()))
                .and(col("run_id").equalTo(v.runId()))).orderBy("candidate").collectAsList();
    }

    /** Every file of the version's directory, to {@code <run artifacts>/model/...} through the server's artifact proxy. */
    private void uploadModel(String artifactUri, String dir) {
        String prefix = "mlflow-artifacts:/";
        if (!artifactUri.startsWith(prefix)) {
            throw new KilnException("the run's artifact location " + artifactUri + " is not served by the tracking server"
                    + " (start mlflow server with artifact serving, its default)");
        }
        String target = artifactUri.substring(prefix.length()).replaceFirst("^/+", "") + "/model/";
        try {
            Path root = new Path(dir);
            FileSystem fs = root.getFileSystem(lakehouse.spark().sparkContext().hadoopConfiguration());
            String rootText = fs.makeQualified(root).toUri().getPath();
            RemoteIterator<LocatedFileStatus> files = fs.listFiles(root, true);
            while (files.hasNext()) {
                LocatedFileStatus f = files.next();
                String relative = f.getPath().toUri().getPath().substring(rootText.length()).replaceFirst("^/+", "");
                if (f.getPath().getName().startsWith(".") && f.getPath().getName().endsWith(".crc")) {
                    continue; // Hadoop's checksum files
                }
                try (InputStream in = fs.open(f.getPath())) {
                    rest.putArtifact(target + relative, in.readAllBytes());
                }
            }
        } catch (IOException e) {
            throw new KilnException("could not read the model directory " + dir + ": " + e.getMessage(), e);
        }
    }

    private int syncAliases(String name) {
        if (!lakehouse.exists(ModelRegistry.ALIASES)) {
            return 0;
        }
        int changed = 0;
        for (Row a : lakehouse.read(ModelRegistry.ALIASES).where(col("name").equalTo(name)).collectAsList()) {
            String alias = a.getAs("alias");
            int version = a.<Integer>getAs("version");
            Integer there = null;
            try {
                there = rest.get("registered-models/alias", Map.of("name", name, "alias", alias)).path("model_version")
                        .path("version").asInt();
            } catch (MlflowRest.Error e) {
                if (!"RESOURCE_DOES_NOT_EXIST".equals(e.code) && !"INVALID_PARAMETER_VALUE".equals(e.code)) {
                    throw e;
                }
            }
            if (there == null || there != version) {
                rest.post("registered-models/alias", rest.object().put("name", name).put("alias", alias).put("version", String.valueOf(version)));
                progress.accept("MLflow: " + name + "@" + alias + " -> version " + version);
                changed++;
            }
        }
        return changed;
    }

    private Optional<String> sparkApplication(String runId) {
        if (!lakehouse.exists(JobRunLog.TABLE)) {
            return Optional.empty();
        }
        List<Row> rows = lakehouse.read(JobRunLog.TABLE).where(col("run_id").equalTo(runId)).select("spark_app_id").collectAsList();
        return rows.stream().filter(r -> !r.isNullAt(0)).map(r -> r.getString(0)).findFirst();
    }

    /** The commit Kiln runs from, when its home is a git checkout (read from .git, no git process). */
    private static Optional<String> gitCommit() {
        String home = System.getProperty("kiln.home");
        if (home == null) {
            return Optional.empty();
        }
        try {
            java.nio.file.Path git = java.nio.file.Path.of(home, ".git");
            String head = java.nio.file.Files.readString(git.resolve("HEAD")).trim();
            if (head.startsWith("ref: ")) {
                java.nio.file.Path ref = git.resolve(head.substring(5));
                if (java.nio.file.Files.exists(ref)) {
                    return Optional.of(java.nio.file.Files.readString(ref).trim());
                }
                java.nio.file.Path packed = git.resolve("packed-refs");
                if (java.nio.file.Files.exists(packed)) {
                    return java.nio.file.Files.readAllLines(packed).stream().filter(l -> l.endsWith(" " + head.substring(5)))
                            .map(l -> l.substring(0, l.indexOf(' '))).findFirst();
                }
                return Optional.empty();
            }
            return head.matches("[0-9a-f]{40}") ? Optional.of(head) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
