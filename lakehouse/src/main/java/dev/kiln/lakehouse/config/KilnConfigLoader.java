package dev.kiln.lakehouse.config;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigValueFactory;
import dev.kiln.lakehouse.catalog.Identifiers;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Loads Kiln's HOCON configuration. Precedence, highest first: {@code --conf} overrides, the
 * environment overlay ({@code <env>.conf}), pipeline definitions ({@code pipelines/*.conf}), the
 * defaults ({@code kiln.conf}). Overrides whose key starts with {@code spark.} are Spark settings and
 * pass through to the session untouched.
 */
public final class KilnConfigLoader {
    private final Path confDir;

    public KilnConfigLoader(Path confDir) {
        this.confDir = requireNonNull(confDir, "confDir is null");
    }

    public KilnConfig load(String environment, Map<String, String> overrides) {
        return load(environment, List.of(), overrides);
    }

    /**
     * As {@link #load(String, Map)}, with extra overlays ({@code <name>.conf}, e.g. {@code gpu}) on top of the
     * environment's, later ones winning; command-line overrides still win over all of them.
     */
    public KilnConfig load(String environment, List<String> extraOverlays, Map<String, String> overrides) {
        requireNonNull(overrides, "overrides is null");
        if (!Files.isRegularFile(confDir.resolve("kiln.conf"))) {
            throw new ConfigException("--conf-dir", "no kiln.conf in " + confDir.toAbsolutePath()
                    + " (point --conf-dir or KILN_CONF_DIR at Kiln's conf/ directory)");
        }
        Map<String, String> sparkConf = new LinkedHashMap<>();
        Config overrideConfig = ConfigFactory.empty("command-line --conf");
        for (Map.Entry<String, String> e : overrides.entrySet()) {
            if (e.getKey().startsWith("spark.")) {
                sparkConf.put(e.getKey(), e.getValue());
            } else {
                overrideConfig = overrideConfig.withValue(e.getKey(), overrideValue(e.getKey(), e.getValue()));
            }
        }
        Config defaults = parseFile(confDir.resolve("kiln.conf"));
        String env = environment != null ? environment
                : overrideConfig.withFallback(defaults).hasPath("kiln.environment")
                ? overrideConfig.withFallback(defaults).getString("kiln.environment") : "local";
        if (!Identifiers.isPlain(env)) {
            throw new ConfigException("kiln.environment", "'" + env + "' is not a plain name");
        }
        Path overlayFile = confDir.resolve(env + ".conf");
        if (!Files.isRegularFile(overlayFile)) {
            throw new ConfigException("kiln.environment", "no overlay " + overlayFile + " for environment '" + env + "'");
        }
        Config pipelines = ConfigFactory.empty();
        Path pipelineDir = confDir.resolve("pipelines");
        if (Files.isDirectory(pipelineDir)) {
            try (Stream<Path> files = Files.list(pipelineDir)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".conf")).sorted().toList()) {
                    pipelines = pipelines.withFallback(parseFile(f));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        Config extras = ConfigFactory.empty();
        for (String extra : extraOverlays) {
            Path file = confDir.resolve(extra + ".conf");
            if (!Identifiers.isPlain(extra) || !Files.isRegularFile(file)) {
                throw new ConfigException("--" + extra, "no overlay " + file);
            }
            extras = parseFile(file).withFallback(extras);
        }
        Config merged = overrideConfig
                .withFallback(extras)
                .withFallback(parseFile(overlayFile))
                .withFallback(pipelines)
                .withFallback(defaults)
                .withValue("kiln.environment", ConfigValueFactory.fromAnyRef(env));
        Config resolved;
        try {
            resolved = merged.resolve();
        } catch (com.typesafe.config.ConfigException e) {
            throw new ConfigException("config", e.getMessage());
        }
        return KilnConfig.parse(resolved, sparkConf);
    }

    private static Config parseFile(Path file) {
        try {
            return ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
        } catch (com.typesafe.config.ConfigException e) {
            throw new ConfigException(file.toString(), e.getMessage());
        }
    }

    /** {@code [a,b]} is a list; anything else is taken literally (so {@code hdfs://x} stays a string). */
    private static com.typesafe.config.ConfigValue overrideValue(String key, String value) {
        String v = value.trim();
        if (v.startsWith("[") && v.endsWith("]")) {
            try {
                return ConfigFactory.parseString("v = " + v).getValue("v");
            } catch (com.typesafe.config.ConfigException e) {
                throw new ConfigException(key, "could not parse list value " + value + ": " + e.getMessage());
            }
        }
        if (v.startsWith("[")) {
            throw new ConfigException(key, "list value must end with ']'");
        }
        return ConfigValueFactory.fromAnyRef(value, "--conf " + key);
    }

    /** Splits {@code key=value} command-line settings, keeping their order. */
    public static Map<String, String> parseOverrides(List<String> settings) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String s : settings) {
            int eq = s.indexOf('=');
            if (eq <= 0) {
                throw new ConfigException("--conf " + s, "expected key=value");
            }
            out.put(s.substring(0, eq).trim(), s.substring(eq + 1));
        }
        return out;
    }
}
