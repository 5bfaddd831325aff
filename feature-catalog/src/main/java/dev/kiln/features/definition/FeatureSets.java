package dev.kiln.features.definition;

import com.typesafe.config.Config;
import dev.kiln.lakehouse.catalog.Identifiers;
import dev.kiln.lakehouse.config.ConfigException;
import dev.kiln.lakehouse.config.ConfigSection;
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
        return parse(ConfigSection.root(config));
    }

    public static FeatureSets parse(ConfigSection config) {
        Map<String, FeatureSetSpec> sets = new TreeMap<>();
        for (String name : config.keys("feature-sets")) {
            sets.put(name, parseSet(config, name));
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

    private static FeatureSetSpec parseSet(ConfigSection c, String name) {
        String base = c.at("feature-sets." + name);
        if (!Identifiers.isPlain(name) || name.contains("__")) {
            throw new ConfigException(base, "feature set name '" + name + "' must be a plain identifier without '__'");
        }
        ConfigSection s = c.section("feature-sets." + name);
        int version = s.integer("version");
        if (version < 1) {
            throw new ConfigException(s.at("version"), "must be 1 or more, got " + version);
        }
        List<String> entity = s.identifiers("entity");
        if (entity.isEmpty()) {
            throw new ConfigException(s.at("entity"), "needs at least one entity key column");
        }
        dev.kiln.lakehouse.catalog.TableOrQuery input = dev.kiln.lakehouse.catalog.TableOrQuery.parse(s, "source", "source-query");
        String eventTime = s.identifier("event-time");
        String grainText = s.string("grain", "day");
        Grain grain;
        try {
            grain = Grain.valueOf(grainText.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(s.at("grain"), "expected hour or day, got '" + grainText + "'");
        }
        Span ttl = Span.parse(s.string("ttl"), s.at("ttl"));
        ttl.periods(grain, s.at("ttl"));

        List<FeatureSpec> features = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        List<ConfigSection> featureConfigs = s.sections("features", "expected a list of features");
        if (featureConfigs.isEmpty()) {
            throw new ConfigException(s.at("features"), "a feature set needs at least one feature");
        }
        for (ConfigSection f : featureConfigs) {
            String fname = f.identifier("name");
            if (!names.add(fname)) {
                throw new ConfigException(f.at("name"), "duplicate feature name '" + fname + "' in feature set '" + name + "'");
            }
            if (entity.contains(fname)) {
                throw new ConfigException(f.at("name"), "'" + fname + "' is an entity key of the set");
            }
            Aggregation agg = Aggregation.parse(f.string("agg"), f.at("agg"));
            Span window = Span.parse(f.string("window"), f.at("window"));
            int periods = window.periods(grain, f.at("window"));
            DataType type = agg.kind().defaultType();
            if (f.has("type")) {
                try {
                    type = DataType.fromDDL(f.string("type"));
                } catch (Exception e) { // ParseException is checked in Java's eyes
                    throw new ConfigException(f.at("type"), "unknown type '" + f.string("type") + "'");
                }
            }
            Optional<Object> dflt = f.scalar("default");
            if (!f.has("default")) {
                dflt = agg.kind().defaultValue();
            }
            features.add(new FeatureSpec(fname, agg, window, periods, type, f.string("description", ""), dflt));
        }
        return new FeatureSetSpec(name, version, entity, input, eventTime, grain, ttl, s.string("owner", ""),
                s.string("description", ""), s.strings("tags"), features);
    }
}
