package dev.kiln.reports.drift;

import dev.kiln.training.registry.ModelVersion;
import java.util.List;
import java.util.Optional;

/**
 * What a drift run found and did.
 *
 * @param retrainRunId the orchestrator's run id when a retraining was requested
 * @param retrainError why requesting it failed, when it did (the alerts still were written)
 */
public record DriftOutcome(String runId, ModelVersion model, DriftWindow reference, DriftWindow current, long referenceRows,
        long currentRows, List<Drift> drift, Optional<String> retrainRunId, Optional<String> retrainError) {
    public DriftOutcome {
        drift = List.copyOf(drift);
    }

    public List<Drift> breaches() {
        return drift.stream().filter(Drift::breached).toList();
    }
}
