package dev.kiln.lakehouse.config;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.kiln.lakehouse.catalog.Identifiers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Kiln's one reader of HOCON: a section of the configuration that knows its own path, so that every value read
 * through it, and every error about one, names the config path it comes from ({@code models.flight_delay.seed:
 * expected a whole number}). The spec parsers of every module read through it; nothing else reads the raw tree.
 */
public final class ConfigSection {
    private final Config config;
    private final String path;

    private ConfigSection(Config config, String path) {
        this.config = requireNonNull(config, "config is null");
        this.path = requireNonNull(path, "path is null");
    }

    /** The whole configuration. */
    public static ConfigSection root(Config config) {
        return new ConfigSection(config, "");
    }

    /** A declaration read from text (e.g. one stored in a registry), reported as if it stood at {@code path}. */
    public static ConfigSection parse(String text, String path) {
        return new ConfigSection(ConfigFactory.parseString(text), path);
    }

    /** This section's config path ("" for the root). */
    public String path() {
        return path;
    }

    /** The config path of {@code key} in this section. */
    public String at(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    public boolean has(String key) {
        return config.hasPath(key);
    }

    /** The section as compact HOCON text (what registries store and hashes cover). */
    public String render() {
        return config.root().render(ConfigRenderOptions.concise());
    }

    /** A value as text; missing is an error. */
    public String string(String key) {
        if (!config.hasPath(key)) {
            throw new ConfigException(at(key), "missing");
        }
        return String.valueOf(config.getValue(key).unwrapped());
    }

    public String string(String key, String fallback) {
        return config.hasPath(key) ? string(key) : fallback;
    }

    public Optional<String> optionalString(String key) {
        return config.hasPath(key) ? Optional.of(string(key)) : Optional.empty();
    }

    /** A whole number; missing or not a number is an error. */
    public int integer(String key) {
        return typed(key, config::getInt, "expected a whole number");
    }

    public int integer(String key, int fallback) {
        return config.hasPath(key) ? integer(key) : fallback;
    }

    public long longInteger(String key, long fallback) {
        return config.hasPath(key) ? typed(key, config::getLong, "expected a whole number") : fallback;
    }

    public double number(String key) {
        return typed(key, config::getDouble, "expected a number");
    }

    public boolean bool(String key, boolean fallback) {
        return config.hasPath(key) ? typed(key, config::getBoolean, "expected true or false") : fallback;
    }

    public Duration duration(String key, Duration fallback) {
        return config.hasPath(key) ? typed(key, config::getDuration, "expected a duration like 30s or 200ms") : fallback;
    }

    /** A value read by one of HOCON's typed getters; a wrong type (or a missing value) names the path. */
    private <T> T typed(String key, java.util.function.Function<String, T> getter, String expected) {
        try {
            return getter.apply(key);
        } catch (com.typesafe.config.ConfigException e) {
            throw new ConfigException(at(key), expected);
        }
    }

    /** A plain identifier (validated, lower-cased); missing is an error. */
    public String identifier(String key) {
        return identifier(string(key), at(key));
    }

    /** One identifier or a list of them; missing is an error. */
    public List<String> identifiers(String key) {
        if (!config.hasPath(key)) {
            throw new ConfigException(at(key), "missing");
        }
        return identifierList(key);
    }

    /** One identifier or a list of them; missing is an empty list. */
    public List<String> optionalIdentifiers(String key) {
        return config.hasPath(key) ? identifierList(key) : List.of();
    }

    private List<String> identifierList(String key) {
        List<String> raw = strings(key);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < raw.size(); i++) {
            out.add(identifier(raw.get(i), at(key) + "[" + i + "]"));
        }
        return List.copyOf(out);
    }

    /** One value or a list of values, as text; missing is an empty list. */
    public List<String> strings(String key) {
        if (!config.hasPath(key)) {
            return List.of();
        }
        return config.getValue(key).valueType() == ConfigValueType.LIST ? config.getStringList(key) : List.of(string(key));
    }

    /** A list of values as text that must be there and not be empty. */
    public List<String> nonEmptyList(String key, String expected) {
        if (!config.hasPath(key) || config.getValue(key).valueType() != ConfigValueType.LIST || config.getStringList(key).isEmpty()) {
            throw new ConfigException(at(key), expected);
        }
        return config.getStringList(key);
    }

    /** A single value (not an object or list) as Java sees it, if present. */
    public Optional<Object> scalar(String key) {
        if (!config.hasPath(key)) {
            return Optional.empty();
        }
        ConfigValue v = config.getValue(key);
        if (v.valueType() == ConfigValueType.OBJECT || v.valueType() == ConfigValueType.LIST) {
            throw new ConfigException(at(key), "expected a single value");
        }
        return Optional.ofNullable(v.unwrapped());
    }

    public ConfigValue value(String key) {
        return config.getValue(key);
    }

    /** The values directly under {@code key} in HOCON's own order; none when it is missing. */
    public java.util.Map<String, ConfigValue> entries(String key) {
        java.util.Map<String, ConfigValue> out = new java.util.LinkedHashMap<>();
        if (config.hasPath(key)) {
            config.getObject(key).forEach(out::put);
        }
        return out;
    }

    /** The sub-section {@code key}; missing is an error. */
    public ConfigSection section(String key) {
        if (!config.hasPath(key)) {
            throw new ConfigException(at(key), "missing");
        }
        return new ConfigSection(config.getConfig(key), at(key));
    }

    /** The sub-section {@code key}, or an empty one there. */
    public ConfigSection sectionOrEmpty(String key) {
        return config.hasPath(key) ? section(key) : new ConfigSection(ConfigFactory.empty(), at(key));
    }

    /** The sub-section of a key that may hold dots (a quoted HOCON key, e.g. an algorithm name). */
    public ConfigSection child(String key) {
        return new ConfigSection(config.root().toConfig().getConfig("\"" + key + "\""), at(key));
    }

    /** A list of objects ({@code key[0]}, {@code key[1]}, ...); missing or not a list is an error. */
    public List<ConfigSection> sections(String key, String expected) {
        if (!config.hasPath(key) || config.getValue(key).valueType() != ConfigValueType.LIST) {
            throw new ConfigException(at(key), expected);
        }
        List<? extends Config> list;
        try {
            list = config.getConfigList(key);
        } catch (com.typesafe.config.ConfigException e) {
            throw new ConfigException(at(key), expected);
        }
        List<ConfigSection> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            out.add(new ConfigSection(list.get(i), at(key) + "[" + i + "]"));
        }
        return out;
    }

    /** The keys directly under this section, sorted. */
    public Set<String> keys() {
        return new TreeSet<>(config.root().keySet());
    }

    /** The keys directly under {@code key}, sorted; none when it is missing. */
    public Set<String> keys(String key) {
        return config.hasPath(key) ? new TreeSet<>(config.getObject(key).keySet()) : new TreeSet<>();
    }

    /** Validates a plain identifier found at {@code at}, lower-cased. */
    public static String identifier(String value, String at) {
        if (!Identifiers.isPlain(value)) {
            throw new ConfigException(at, "'" + value + "' is not a plain identifier");
        }
        return value.toLowerCase(Locale.ROOT);
    }
}
