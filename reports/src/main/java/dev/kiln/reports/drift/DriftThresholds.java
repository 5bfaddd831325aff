package dev.kiln.reports.drift;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueType;
import dev.kiln.lakehouse.config.ConfigException;
import dev.kiln.lakehouse.config.ConfigSection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Alert thresholds per drift metric: {@code kiln.drift.thresholds}, overridden per model by
 * {@code models.<name>.drift.thresholds}. A metric breaches when the absolute value of the metric exceeds its
 * threshold; a metric without a threshold is reported with status {@code info}.
 */
public record DriftThresholds(Map<String, Double> byMetric) {
    public static final List<String> METRICS = DriftMetric.names();

    public DriftThresholds {
        byMetric = Map.copyOf(byMetric);
    }

    public static DriftThresholds parse(Config config, String model) {
        ConfigSection root = ConfigSection.root(config);
        Map<String, Double> out = new TreeMap<>();
        for (String path : List.of("kiln.drift.thresholds", "models." + model + ".drift.thresholds")) {
            root.entries(path).forEach((metric, value) -> {
                String at = root.at(path + "." + metric);
                if (!METRICS.contains(metric)) {
                    throw new ConfigException(at, "unknown drift metric '" + metric + "' (known: " + String.join(", ", METRICS) + ")");
                }
                if (value.valueType() == ConfigValueType.NULL) {
                    out.remove(metric);
                    return;
                }
                double t;
                try {
                    t = root.number(path + "." + metric);
                } catch (ConfigException e) {
                    throw new ConfigException(at, "expected a non-negative number, got " + value.render());
                }
                if (!(t >= 0)) {
                    throw new ConfigException(at, "expected a non-negative number, got " + t);
                }
                out.put(metric, t);
            });
        }
        return new DriftThresholds(out);
    }

    /** Where a metric's value stands against its threshold. */
    public DriftStatus status(String metric, Double value) {
        Double t = byMetric.get(metric);
        if (value == null) {
            return DriftStatus.NOT_AVAILABLE;
        }
        if (t == null) {
            return DriftStatus.INFO;
        }
        return Math.abs(value) > t ? DriftStatus.BREACH : DriftStatus.OK;
    }
}
