package dev.kiln.reports.drift;

/**
 * Asks an orchestrator to retrain a model after drift was detected. Kiln's implementation triggers the
 * {@code kiln_retrain} Airflow DAG through its REST API with conf {@code {model, reason, drift_run_id}}.
 */
public interface RetrainTrigger {
    /**
     * Requests one retraining of the model. Implementations are idempotent per {@code driftRunId}: asking
     * again for the same drift run (a retried request) returns the run the first request started.
     *
     * @return the orchestrator's id of the run it started
     * @throws RuntimeException when the request was refused or could not be delivered; nothing was started then
     */
    String requestRetrain(String model, String reason, String driftRunId);
}
