package dev.kiln.training;

import dev.kiln.training.registry.ModelVersion;
import java.util.List;

/** How a retraining of a registered version compared with it. */
public record Reproduction(ModelVersion registered, FittedModel again, List<String> differences) {
    public boolean matches() {
        return differences.isEmpty();
    }

    public String summary() {
        return matches()
                ? String.format("%s reproduced: %d params and %d validation metrics match exactly%s (%s %.6f)",
                        registered.uri(), again.params().size(), again.metrics().size(),
                        registered.decision().isPresent() ? ", and the decision threshold" : "", registered.metric(),
                        registered.metricValue())
                : registered.uri() + " did NOT reproduce: " + String.join("; ", differences);
    }
}
