package dev.kiln.reports.drift;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigValueType;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Alert thresholds per drift metric: {@code kiln.drift.thresholds}, overridden per model by
 * {@code models.<name>.drift.thresholds}. A metric breaches when the absolute value of the metric exceeds its
 * threshold; a metric without a threshold is reported with status {@code info}.
 */
public record DriftThresholds(Map<String, Double> byMetric) {
    public static final List<String> METRICS = List.of("psi", "ks", "mean_shift", "std_shift", "null_rate_change",
            "js_distance", "chi_square", "unseen_share");

    public DriftThresholds {
        byMetric = Map.copyOf(byMetric);
    }

    public static DriftThresholds parse(Config config, String model) {
        Map<String, Double> out = new TreeMap<>();
        for (String path : List.of("kiln.drift.thresholds", "models." + model + ".drift.thresholds")) {
            if (!config.hasPath(path)) {
                continue;
            }
            config.getConfig(path).root().forEach((metric, value) -> {
                String at = path + "." + metric;
                if (!METRICS.contains(metric)) {
                    throw new dev.kiln.lakehouse.config.ConfigException(at, "unknown drift metric '" + metric + "' (known: "
                            + String.join(", ", METRICS) + ")");
                }
                if (value.valueType() == ConfigValueType.NULL) {
                    out.remove(metric);
                    return;
                }
                double t;
                try {
                    t = config.getDouble(at);
                } catch (ConfigException e) {
                    throw new dev.kiln.lakehouse.config.ConfigException(at, "expected a non-negative number, got " + value.render());
                }
                if (!(t >= 0)) {
                    throw new dev.kiln.lakehouse.config.ConfigException(at, "expected a non-negative number, got " + t);
                }
                out.put(metric, t);
            });
        }
        return new DriftThresholds(out);
    }

    /** {@code breach}, {@code ok}, {@code info} (no threshold) or {@code n/a} (undefined value). */
    public String status(String metric, Double value) {
        Double t = byMetric.get(metric);
        if (value == null) {
            return "n/a";
        }
        if (t == null) {
            return "info";
        }
        return Math.abs(value) > t ? "breach" : "ok";
    }
}
