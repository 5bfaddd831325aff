package dev.kiln.training.spec;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Identifiers;
import dev.kiln.lakehouse.config.ConfigException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * A model as declared under {@code models.<name>}: task, the training set it learns from, extra event
 * columns (numeric, categorical), algorithm and hyperparameter grids, a time-based split, the tuning metric
 * and a seed.
 *
 * @param grids per algorithm, parameter name to candidate values as JSON (one value fixes the parameter)
 * @param reproducible train and validate on at most two partitions, so that MLlib's sums combine in the
 *                     same order every time and a retraining matches bit for bit (see the README)
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
        String text) {

    public static final List<String> CLASSIFICATION_METRICS = List.of("areaUnderROC", "areaUnderPR", "logLoss", "accuracy");
    public static final List<String> REGRESSION_METRICS = List.of("rmse", "mae", "r2");

    public ModelSpec {
        requireNonNull(name, "name is null");
        numeric = List.copyOf(numeric);
        categorical = List.copyOf(categorical);
        grids = Map.copyOf(grids);
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
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest((text + "\n" + a.text()).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static ModelSpec parse(Config config, String name) {
        String base = "models." + name;
        if (!Identifiers.isPlain(name)) {
            throw new ConfigException(base, "model name '" + name + "' must be a plain identifier");
        }
        if (!config.hasPath(base)) {
            List<String> known = config.hasPath("models") ? new ArrayList<>(new TreeSet<>(config.getObject("models").keySet())) : List.of();
            throw new dev.kiln.lakehouse.UnknownNameException("unknown model '" + name + "' (known: " + String.join(", ", known) + ")");
        }
        Config s = config.getConfig(base);
        Task task = Task.parse(string(s, "task", base + ".task"), base + ".task");
        String trainingSet = string(s, "training-set", base + ".training-set");
        List<String> numeric = identifiers(s, "numeric", base + ".numeric");
        List<String> categorical = identifiers(s, "categorical", base + ".categorical");
        Algorithm algorithm = Algorithm.parse(string(s, "algorithm", base + ".algorithm"), task, base + ".algorithm");
        Map<Algorithm, Map<String, List<String>>> grids = new LinkedHashMap<>();
        if (s.hasPath("grids")) {
            for (String a : s.getObject("grids").keySet()) {
                String at = base + ".grids." + a;
                Algorithm alg = Algorithm.parse(a, task, at);
                Map<String, List<String>> grid = new LinkedHashMap<>();
                for (Map.Entry<String, ConfigValue> p : s.getObject("grids").toConfig().getObject(quote(a)).entrySet()) {
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
        }
        Optional<String> timeColumn = s.hasPath("split.time-column")
                ? Optional.of(s.getString("split.time-column").toLowerCase(Locale.ROOT)) : Optional.empty();
        LocalDateTime trainUntil = time(s, "split.train-until", base + ".split.train-until");
        LocalDateTime validateUntil = time(s, "split.validate-until", base + ".split.validate-until");
        if (!validateUntil.isAfter(trainUntil)) {
            throw new ConfigException(base + ".split", "validate-until (" + validateUntil + ") must be after train-until ("
                    + trainUntil + ")");
        }
        String metric = s.hasPath("metric") ? s.getString("metric") : task.defaultMetric();
        List<String> metrics = task == Task.BINARY_CLASSIFICATION ? CLASSIFICATION_METRICS : REGRESSION_METRICS;
        if (!metrics.contains(metric)) {
            throw new ConfigException(base + ".metric", "unknown metric '" + metric + "' for " + task.text() + " (known: "
                    + String.join(", ", metrics) + ")");
        }
        long seed = s.hasPath("seed") ? s.getLong("seed") : 42L;
        int parallelism = s.hasPath("parallelism") ? s.getInt("parallelism") : 2;
        if (parallelism < 1) {
            throw new ConfigException(base + ".parallelism", "must be 1 or more");
        }
        boolean reproducible = !s.hasPath("reproducible") || s.getBoolean("reproducible");
        String description = s.hasPath("description") ? s.getString("description") : "";
        return new ModelSpec(name, description, task, trainingSet, numeric, categorical, algorithm, grids, timeColumn,
                trainUntil, validateUntil, metric, seed, parallelism, reproducible, s.root().render(ConfigRenderOptions.concise()));
    }

    private static String quote(String key) {
        return "\"" + key + "\"";
    }

    private static LocalDateTime time(Config c, String key, String at) {
        String text = string(c, key, at);
        try {
            return text.length() == 10 ? LocalDate.parse(text).atStartOfDay() : LocalDateTime.parse(text);
        } catch (DateTimeParseException e) {
            throw new ConfigException(at, "'" + text + "' is not a date like 2001-05-01 (or 2001-05-01T12:00)");
        }
    }

    private static List<String> identifiers(Config c, String key, String at) {
        if (!c.hasPath(key)) {
            return List.of();
        }
        List<String> raw = c.getStringList(key);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < raw.size(); i++) {
            if (!Identifiers.isPlain(raw.get(i))) {
                throw new ConfigException(at + "[" + i + "]", "'" + raw.get(i) + "' is not a plain identifier");
            }
            out.add(raw.get(i).toLowerCase(Locale.ROOT));
        }
        return out;
    }

    private static String string(Config c, String key, String at) {
        if (!c.hasPath(key)) {
            throw new ConfigException(at, "missing");
        }
        return String.valueOf(c.getValue(key).unwrapped());
    }
}
