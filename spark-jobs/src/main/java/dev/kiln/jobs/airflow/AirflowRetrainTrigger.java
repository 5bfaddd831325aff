package dev.kiln.jobs.airflow;

import static java.util.Objects.requireNonNull;

import dev.kiln.reports.drift.RetrainTrigger;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Requests a retraining by triggering the retrain DAG ({@code kiln.airflow.retrain-dag}, by default
 * {@code kiln_retrain}) with conf {@code {model, reason, drift_run_id}} and no logical date. Each call
 * starts one DAG run; Airflow names it.
 */
public final class AirflowRetrainTrigger implements RetrainTrigger {
    private final AirflowClient client;
    private final String retrainDag;

    public AirflowRetrainTrigger(AirflowClient client, String retrainDag) {
        this.client = requireNonNull(client, "client is null");
        this.retrainDag = requireNonNull(retrainDag, "retrainDag is null");
    }

    /** @return the id of the DAG run started */
    @Override
    public String requestRetrain(String model, String reason, String driftRunId) {
        requireNonNull(model, "model is null");
        requireNonNull(reason, "reason is null");
        requireNonNull(driftRunId, "driftRunId is null");
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("model", model);
        conf.put("reason", reason);
        conf.put("drift_run_id", driftRunId);
        return client.trigger(retrainDag, conf, Optional.empty(), Optional.empty()).runId();
    }
}
