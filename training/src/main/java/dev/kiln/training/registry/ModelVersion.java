package dev.kiln.training.registry;

import static java.util.Objects.requireNonNull;

import dev.kiln.training.decision.Decision;
import java.time.Instant;
import java.time.LocalDateTime;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One registered model version: a row of {@code ml.models}.
 *
 * @param params  the estimator's chosen parameters (the grid's winner included), as JSON values
 * @param metrics validation metrics of the chosen model on the validation window
 * @param inputs  the Delta version of every input of the training set
 * @param decision the decision threshold chosen on the validation window (binary classifiers registered since
 *                 thresholds are chosen; see {@link #decisionRule()})
 */
public record ModelVersion(
        String name,
        int version,
        String task,
        String algorithm,
        Map<String, String> params,
        String metric,
        Map<String, Double> metrics,
        String trainingSetId,
        List<String> featureRefs,
        Map<String, Long> inputs,
        LocalDateTime trainUntil,
        LocalDateTime validateUntil,
        long seed,
        String configHash,
        String runId,
        Instant createdAt,
        String artifactPath,
        Optional<Decision> decision) {

    public ModelVersion {
        requireNonNull(name, "name is null");
        params = Map.copyOf(params);
        metrics = Map.copyOf(metrics);
        featureRefs = List.copyOf(featureRefs);
        inputs = Map.copyOf(inputs);
        requireNonNull(decision, "decision is null");
    }

    /** How this version labels a score: its stored decision, or MLlib's rule for a version registered before those. */
    public Decision decisionRule() {
        return decision.orElseGet(() -> Decision.mllib(params));
    }

    /** {@link #task()} as its type. */
    public dev.kiln.training.spec.Task taskType() {
        return dev.kiln.training.spec.Task.parse(task, "ml.models.task of " + name + " version " + version);
    }

    public String uri() {
        return "models:/" + name + "/" + version;
    }

    public double metricValue() {
        Double v = metrics.get(metric);
        return v == null ? Double.NaN : v;
    }

    /** Several lines: URI, task and metric, every metric, lineage, params, artifact. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("%s (%s, %s): %s %.6f on %s .. %s%n", uri(), task, algorithm, metric, metricValue(), trainUntil,
                validateUntil));
        metrics.forEach((k, x) -> sb.append(String.format("  %-14s %s%n", k, x)));
        if (taskType() == dev.kiln.training.spec.Task.BINARY_CLASSIFICATION) {
            sb.append("  decision       ").append(decisionRule().describe()).append('\n');
        }
        sb.append("  training set   ").append(trainingSetId).append(", inputs ").append(inputs).append('\n');
        sb.append("  params         ").append(params).append('\n');
        sb.append("  artifact       ").append(artifactPath);
        return sb.toString();
    }

    ModelVersion withVersion(int v, String path) {
        return new ModelVersion(name, v, task, algorithm, params, metric, metrics, trainingSetId, featureRefs, inputs,
                trainUntil, validateUntil, seed, configHash, runId, createdAt, path, decision);
    }
}
