package dev.kiln.jobs.airflow;

import static java.util.Objects.requireNonNull;

import dev.kiln.reports.drift.RetrainTrigger;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Requests a retraining by triggering the retrain DAG ({@code kiln.airflow.retrain-dag}, by default
 * {@code kiln_retrain}) with conf {@code {model, reason, drift_run_id}} and no logical date.
 *
 * <p>Idempotent per drift run: the DAG run id is derived from the drift run id ({@link #runIdFor}), and
 * Airflow admits one run per id, so a request retried after a lost answer, or repeated by another process
 * for the same drift run, returns the run the first request started instead of starting a second retrain.
 */
public final class AirflowRetrainTrigger implements RetrainTrigger {
    /** Airflow's default {@code [scheduler] allowed_run_id_pattern}, and its run id column's length. */
    private static final Pattern ALLOWED = Pattern.compile("[A-Za-z0-9_.~:+-]+");
    private static final int MAX_RUN_ID = 250;
    static final String PREFIX = "kiln_drift__";

    private final AirflowClient client;
    private final String retrainDag;

    public AirflowRetrainTrigger(AirflowClient client, String retrainDag) {
        this.client = requireNonNull(client, "client is null");
        this.retrainDag = requireNonNull(retrainDag, "retrainDag is null");
    }

    /** @return the id of the DAG run started for this drift run (by this call or an earlier one) */
    @Override
    public String requestRetrain(String model, String reason, String driftRunId) {
        requireNonNull(model, "model is null");
        requireNonNull(reason, "reason is null");
        requireNonNull(driftRunId, "driftRunId is null");
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("model", model);
        conf.put("reason", reason);
        conf.put("drift_run_id", driftRunId);
        return client.triggerOnce(retrainDag, conf, runIdFor(driftRunId), Optional.empty()).runId();
    }

    /**
     * The retrain DAG run id for a drift run: {@code kiln_drift__<drift run id>}. Characters Airflow does not
     * admit in run ids become '_' and then a hash of the drift run id keeps distinct ids distinct.
     */
    public static String runIdFor(String driftRunId) {
        requireNonNull(driftRunId, "driftRunId is null");
        if (driftRunId.isBlank()) {
            throw new IllegalArgumentException("driftRunId is blank");
        }
        String id = PREFIX + driftRunId;
        if (ALLOWED.matcher(id).matches() && id.length() <= MAX_RUN_ID) {
            return id;
        }
        String safe = id.replaceAll("[^A-Za-z0-9_.~:+-]", "_");
        String hash = "__" + dev.kiln.lakehouse.Hashing.sha256Hex(driftRunId, 12);
        return safe.substring(0, Math.min(safe.length(), MAX_RUN_ID - hash.length())) + hash;
    }

}
