package dev.kiln.reports.estimate;

import com.typesafe.config.Config;
import dev.kiln.lakehouse.config.ConfigException;
import dev.kiln.lakehouse.config.ConfigSection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The floors under a model's estimated performance ({@code models.<name>.monitor.min-estimated}, e.g.
 * {@code { auc_roc = 0.6, recall = 0.3 }}): an overall estimate below its floor is an alert like a drift breach.
 */
public record EstimateFloors(Map<String, Double> byMetric) {
    /** The metrics an estimate has, and a floor may name. */
    public static final List<String> METRICS = List.of("accuracy", "precision", "recall", "f1", "auc_roc");

    public EstimateFloors {
        byMetric = Map.copyOf(byMetric);
    }

    public static EstimateFloors parse(Config config, String model) {
        ConfigSection root = ConfigSection.root(config);
        String path = "models." + model + ".monitor.min-estimated";
        Map<String, Double> floors = new LinkedHashMap<>();
        if (!root.has(path)) {
            return new EstimateFloors(floors);
        }
        ConfigSection s = root.section(path);
        for (String metric : s.keys()) {
            if (!METRICS.contains(metric)) {
                throw new ConfigException(s.at(metric), "unknown metric '" + metric + "' (known: " + String.join(", ", METRICS) + ")");
            }
            double floor = s.number(metric);
            if (!(floor >= 0 && floor <= 1)) {
                throw new ConfigException(s.at(metric), "must be between 0 and 1, got " + floor);
            }
            floors.put(metric, floor);
        }
        return new EstimateFloors(floors);
    }

    /** Whether an estimate is below the metric's floor (an undefined estimate breaches nothing). */
    public boolean breached(String metric, double estimate) {
        Double floor = byMetric.get(metric);
        return floor != null && !Double.isNaN(estimate) && estimate < floor;
    }
}
