package dev.kiln.training.spec;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.kiln.lakehouse.catalog.Identifiers;
import dev.kiln.lakehouse.config.ConfigException;
import dev.kiln.lakehouse.config.ConfigSection;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A model as declared under {@code models.<name>}: task, the training set it learns from, extra event
 * columns (numeric, categorical), algorithm and hyperparameter grids, a time-based split, the tuning metric
 * and a seed.
 *
 * @param grids per algorithm, parameter name to candidate values as JSON (one value fixes the parameter)
 * @param reproducible train and validate on at most two partitions, so that MLlib's sums combine in the
 *                     same order every time and a retraining matches bit for bit (see the README)
 * @param decision how a binary classifier's decision threshold is chosen on the validation window
 * @param calibration a binary classifier's calibration, fitted on the validation window
 * @param text  the declaration rendered as JSON, hashed into {@link #configHash(Algorithm)}
 */
public record ModelSpec(
        String name,
        String description,
        Task task,
        String trainingSet,
        List<String> numeric,
        List<String> categorical,
        Algorithm algorithm,
        Map<Algorithm, Map<String, List<String>>> grids,
        Optional<String> timeColumn,
        LocalDateTime trainUntil,
        LocalDateTime validateUntil,
        String metric,
        long seed,
        int parallelism,
        boolean reproducible,
        dev.kiln.training.decision.DecisionPolicy decision,
        Calibration calibration,
        String text) {

    public static final List<String> CLASSIFICATION_METRICS = List.of("areaUnderROC", "areaUnderPR", "logLoss", "accuracy");
    public static final List<String> REGRESSION_METRICS = List.of("rmse", "mae", "r2");

    public ModelSpec {
        requireNonNull(name, "name is null");
        numeric = List.copyOf(numeric);
        categorical = List.copyOf(categorical);
        grids = Map.copyOf(grids);
        requireNonNull(decision, "decision is null");
        requireNonNull(calibration, "calibration is null");
    }

    /** Whether a larger value of the metric is better. */
    public static boolean largerIsBetter(String metric) {
        return switch (metric) {
            case "logLoss", "rmse", "mae" -> false;
            default -> true;
        };
    }

    public Map<String, List<String>> grid(Algorithm a) {
        return grids.getOrDefault(a, Map.of());
    }

    /** A hash of the declaration and the algorithm trained. */
    public String configHash(Algorithm a) {
        return dev.kiln.lakehouse.Hashing.sha256Hex(text + "\n" + a.text(), 16);
    }

    public static ModelSpec parse(Config config, String name) {
        String base = "models." + name;
        if (!Identifiers.isPlain(name)) {
            throw new ConfigException(base, "model name '" + name + "' must be a plain identifier");
        }
        ConfigSection root = ConfigSection.root(config);
        if (!root.has(base)) {
            throw new dev.kiln.lakehouse.UnknownNameException("unknown model '" + name + "' (known: "
                    + String.join(", ", root.keys("models")) + ")");
        }
        ConfigSection s = root.section(base);
        Task task = Task.parse(s.string("task"), s.at("task"));
        String trainingSet = s.string("training-set");
        List<String> numeric = s.optionalIdentifiers("numeric");
        List<String> categorical = s.optionalIdentifiers("categorical");
        Algorithm algorithm = Algorithm.parse(s.string("algorithm"), task, s.at("algorithm"));
        Map<Algorithm, Map<String, List<String>>> grids = new LinkedHashMap<>();
        for (Map.Entry<String, ConfigValue> g : s.entries("grids").entrySet()) {
            String at = s.at("grids." + g.getKey());
            Algorithm alg = Algorithm.parse(g.getKey(), task, at);
            Map<String, List<String>> grid = new LinkedHashMap<>();
            for (Map.Entry<String, ConfigValue> p : ((com.typesafe.config.ConfigObject) g.getValue()).entrySet()) {
                List<String> values = new ArrayList<>();
                if (p.getValue().valueType() == ConfigValueType.LIST) {
                    for (ConfigValue v : (com.typesafe.config.ConfigList) p.getValue()) {
                        values.add(v.render(ConfigRenderOptions.concise()));
                    }
                } else {
                    values.add(p.getValue().render(ConfigRenderOptions.concise()));
                }
                if (values.isEmpty()) {
                    throw new ConfigException(at + "." + p.getKey(), "needs at least one value");
                }
                grid.put(p.getKey(), List.copyOf(values));
            }
            grids.put(alg, grid);
        }
        Optional<String> timeColumn = s.optionalString("split.time-column").map(t -> t.toLowerCase(Locale.ROOT));
        LocalDateTime trainUntil = time(s, "split.train-until");
        LocalDateTime validateUntil = time(s, "split.validate-until");
        if (!validateUntil.isAfter(trainUntil)) {
            throw new ConfigException(s.at("split"), "validate-until (" + validateUntil + ") must be after train-until ("
                    + trainUntil + ")");
        }
        String metric = s.string("metric", task.defaultMetric());
        List<String> metrics = task == Task.BINARY_CLASSIFICATION ? CLASSIFICATION_METRICS : REGRESSION_METRICS;
        if (!metrics.contains(metric)) {
            throw new ConfigException(s.at("metric"), "unknown metric '" + metric + "' for " + task.text() + " (known: "
                    + String.join(", ", metrics) + ")");
        }
        long seed = s.longInteger("seed", 42L);
        int parallelism = s.integer("parallelism", 2);
        if (parallelism < 1) {
            throw new ConfigException(s.at("parallelism"), "must be 1 or more");
        }
        boolean reproducible = s.bool("reproducible", true);
        String description = s.string("description", "");
        dev.kiln.training.decision.DecisionPolicy decision = dev.kiln.training.decision.DecisionPolicy.parse(s);
        if (task != Task.BINARY_CLASSIFICATION && s.has("decision")) {
            throw new ConfigException(s.at("decision"), "a decision threshold is for binary classifiers; this model is a "
                    + task.text());
        }
        Calibration calibration = Calibration.parse(s.string("calibration", "none"), s.at("calibration"));
        if (task != Task.BINARY_CLASSIFICATION && calibration != Calibration.NONE) {
            throw new ConfigException(s.at("calibration"), "calibration is for binary classifiers; this model is a " + task.text());
        }
        return new ModelSpec(name, description, task, trainingSet, numeric, categorical, algorithm, grids, timeColumn,
                trainUntil, validateUntil, metric, seed, parallelism, reproducible, decision, calibration, s.render());
    }

    private static LocalDateTime time(ConfigSection c, String key) {
        String text = c.string(key);
        try {
            return text.length() == 10 ? LocalDate.parse(text).atStartOfDay() : LocalDateTime.parse(text);
        } catch (DateTimeParseException e) {
            throw new ConfigException(c.at(key), "'" + text + "' is not a date like 2001-05-01 (or 2001-05-01T12:00)");
        }
    }
}
