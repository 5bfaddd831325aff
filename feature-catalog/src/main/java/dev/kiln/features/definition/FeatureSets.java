package dev.kiln.features.definition;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Identifiers;
import dev.kiln.lakehouse.catalog.TableName;
import dev.kiln.lakehouse.config.ConfigException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.sql.types.DataType;

/** The feature sets of a configuration, parsed from {@code feature-sets.*} and validated with config paths. */
public final class FeatureSets {
    private final Map<String, FeatureSetSpec> sets;

    private FeatureSets(Map<String, FeatureSetSpec> sets) {
        this.sets = sets;
    }

    public static FeatureSets parse(Config config) {
        Map<String, FeatureSetSpec> sets = new TreeMap<>();
        if (config.hasPath("feature-sets")) {
            for (String name : config.getObject("feature-sets").keySet()) {
                sets.put(name, parseSet(config, name));
            }
        }
        return new FeatureSets(Map.copyOf(sets));
    }

    public Map<String, FeatureSetSpec> all() {
        return new TreeMap<>(sets);
    }

    /** Looks a set up by name; the error lists the known ones. */
    public FeatureSetSpec get(String name) {
        FeatureSetSpec spec = sets.get(name);
        if (spec == null) {
            throw new dev.kiln.lakehouse.UnknownNameException("unknown feature set '" + name + "' (known: " + String.join(", ", new TreeMap<>(sets).keySet()) + ")");
        }
        return spec;
    }

    private static FeatureSetSpec parseSet(Config c, String name) {
        String base = "feature-sets." + name;
        if (!Identifiers.isPlain(name) || name.contains("__")) {
            throw new ConfigException(base, "feature set name '" + name + "' must be a plain identifier without '__'");
        }
        Config s = c.getConfig(base);
        int version = integer(s, "version", base + ".version");
        if (version < 1) {
            throw new ConfigException(base + ".version", "must be 1 or more, got " + version);
        }
        List<String> entity = identifiers(s, "entity", base + ".entity");
        if (entity.isEmpty()) {
            throw new ConfigException(base + ".entity", "needs at least one entity key column");
        }
        dev.kiln.lakehouse.catalog.TableOrQuery input = dev.kiln.lakehouse.catalog.TableOrQuery.parse(s, base, "source", "source-query");
        String eventTime = identifier(string(s, "event-time", base + ".event-time"), base + ".event-time");
        String grainText = s.hasPath("grain") ? s.getString("grain") : "day";
        Grain grain;
        try {
            grain = Grain.valueOf(grainText.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(base + ".grain", "expected hour or day, got '" + grainText + "'");
        }
        Span ttl = Span.parse(string(s, "ttl", base + ".ttl"), base + ".ttl");
        ttl.periods(grain, base + ".ttl");

        List<FeatureSpec> features = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        if (!s.hasPath("features") || s.getValue("features").valueType() != ConfigValueType.LIST) {
            throw new ConfigException(base + ".features", "expected a list of features");
        }
        List<? extends Config> featureConfigs = s.getConfigList("features");
        if (featureConfigs.isEmpty()) {
            throw new ConfigException(base + ".features", "a feature set needs at least one feature");
        }
        for (int i = 0; i < featureConfigs.size(); i++) {
            String at = base + ".features[" + i + "]";
            Config f = featureConfigs.get(i);
            String fname = identifier(string(f, "name", at + ".name"), at + ".name");
            if (!names.add(fname)) {
                throw new ConfigException(at + ".name", "duplicate feature name '" + fname + "' in feature set '" + name + "'");
            }
            if (entity.contains(fname)) {
                throw new ConfigException(at + ".name", "'" + fname + "' is an entity key of the set");
            }
            Aggregation agg = Aggregation.parse(string(f, "agg", at + ".agg"), at + ".agg");
            Span window = Span.parse(string(f, "window", at + ".window"), at + ".window");
            int periods = window.periods(grain, at + ".window");
            DataType type = defaultType(agg);
            if (f.hasPath("type")) {
                try {
                    type = DataType.fromDDL(f.getString("type"));
                } catch (Exception e) { // ParseException is checked in Java's eyes
                    throw new ConfigException(at + ".type", "unknown type '" + f.getString("type") + "'");
                }
            }
            Optional<Object> dflt = Optional.empty();
            if (f.hasPath("default")) {
                ConfigValue v = f.getValue("default");
                if (v.valueType() == ConfigValueType.OBJECT || v.valueType() == ConfigValueType.LIST) {
                    throw new ConfigException(at + ".default", "expected a single value");
                }
                dflt = Optional.ofNullable(v.unwrapped());
            } else if (agg.kind() == Aggregation.Kind.COUNT) {
                dflt = Optional.of(0);
            }
            String description = f.hasPath("description") ? f.getString("description") : "";
            features.add(new FeatureSpec(fname, agg, window, periods, type, description, dflt));
        }
        String owner = s.hasPath("owner") ? s.getString("owner") : "";
        String description = s.hasPath("description") ? s.getString("description") : "";
        List<String> tags = s.hasPath("tags") ? s.getStringList("tags") : List.of();
        return new FeatureSetSpec(name, version, entity, input, eventTime, grain, ttl, owner, description,
                tags, features);
    }

    private static DataType defaultType(Aggregation agg) {
        return switch (agg.kind()) {
            case COUNT, APPROX_DISTINCT -> org.apache.spark.sql.types.DataTypes.LongType;
            default -> org.apache.spark.sql.types.DataTypes.DoubleType;
        };
    }

    private static List<String> identifiers(Config c, String key, String at) {
        if (!c.hasPath(key)) {
            throw new ConfigException(at, "missing");
        }
        List<String> raw = c.getValue(key).valueType() == ConfigValueType.LIST ? c.getStringList(key) : List.of(c.getString(key));
        List<String> out = new ArrayList<>();
        for (int i = 0; i < raw.size(); i++) {
            out.add(identifier(raw.get(i), at + "[" + i + "]"));
        }
        return List.copyOf(out);
    }

    private static String identifier(String value, String at) {
        if (!Identifiers.isPlain(value)) {
            throw new ConfigException(at, "'" + value + "' is not a plain identifier");
        }
        return value.toLowerCase(Locale.ROOT);
    }

    private static String string(Config c, String key, String at) {
        if (!c.hasPath(key)) {
            throw new ConfigException(at, "missing");
        }
        return String.valueOf(c.getValue(key).unwrapped());
    }

    private static int integer(Config c, String key, String at) {
        try {
            return c.getInt(key);
        } catch (com.typesafe.config.ConfigException e) {
            throw new ConfigException(at, "expected a whole number");
        }
    }
}
