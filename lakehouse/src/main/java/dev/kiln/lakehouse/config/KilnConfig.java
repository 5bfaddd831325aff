package dev.kiln.lakehouse.config;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigList;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.kiln.lakehouse.catalog.Identifiers;
import dev.kiln.lakehouse.commit.CommitPolicy;
import dev.kiln.lakehouse.ingest.ColumnContract;
import dev.kiln.lakehouse.ingest.DatasetSpec;
import dev.kiln.lakehouse.ingest.DerivedColumn;
import dev.kiln.lakehouse.ingest.Expectation;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.sql.types.DataType;

/**
 * Kiln's configuration, parsed and validated in one place. Every problem is reported with the config
 * path it comes from, e.g. {@code datasets.flights.partition-by[0]: unknown column 'flightdate'}.
 */
public final class KilnConfig {
    private final Config config;
    private final LakehouseSettings lakehouse;
    private final Map<String, DatasetSpec> datasets;
    private final String hash;

    private KilnConfig(Config config, LakehouseSettings lakehouse, Map<String, DatasetSpec> datasets, String hash) {
        this.config = config;
        this.lakehouse = lakehouse;
        this.datasets = datasets;
        this.hash = hash;
    }

    /** Parses a resolved configuration; {@code extraSparkConf} (from {@code --conf spark.*}) wins over the file. */
    public static KilnConfig parse(Config resolved, Map<String, String> extraSparkConf) {
        requireNonNull(resolved, "resolved is null");
        LakehouseSettings lakehouse = parseLakehouse(resolved, extraSparkConf);
        Map<String, DatasetSpec> datasets = new TreeMap<>();
        if (resolved.hasPath("datasets")) {
            for (String name : resolved.getObject("datasets").keySet()) {
                datasets.put(name, parseDataset(resolved, name));
            }
        }
        String rendered = resolved.root().withOnlyKey("kiln").withFallback(resolved.root().withOnlyKey("datasets"))
                .render(ConfigRenderOptions.concise()) + new TreeMap<>(extraSparkConf);
        return new KilnConfig(resolved, lakehouse, Map.copyOf(datasets), dev.kiln.lakehouse.Hashing.sha256Hex(rendered, 16));
    }

    /** The raw configuration, for modules that parse their own sections. */
    public Config config() {
        return config;
    }

    public LakehouseSettings lakehouse() {
        return lakehouse;
    }

    public Map<String, DatasetSpec> datasets() {
        return datasets;
    }

    /** Looks a dataset up by name; the error lists the known ones. */
    public DatasetSpec dataset(String name) {
        DatasetSpec spec = datasets.get(name);
        if (spec == null) {
            throw new ConfigException("datasets." + name,
                    "unknown dataset '" + name + "' (known: " + String.join(", ", datasets.keySet()) + ")");
        }
        return spec;
    }

    /** A short hash of the effective configuration, recorded with each job run. */
    public String hash() {
        return hash;
    }

    private static LakehouseSettings parseLakehouse(Config c, Map<String, String> extraSparkConf) {
        String root = string(c, "kiln.lakehouse.root");
        LakehouseSettings.CatalogType catalog = LakehouseSettings.CatalogType.parse(string(c, "kiln.lakehouse.catalog.type"));
        Optional<String> metastoreUri = c.hasPath("kiln.lakehouse.catalog.metastore-uri")
                ? Optional.of(string(c, "kiln.lakehouse.catalog.metastore-uri")).filter(s -> !s.isBlank())
                : Optional.empty();
        Optional<String> jdbcUrl = c.hasPath("kiln.lakehouse.catalog.jdbc-url")
                ? Optional.of(string(c, "kiln.lakehouse.catalog.jdbc-url")).filter(s -> !s.isBlank())
                : Optional.empty();
        Optional<Path> credentialsFile = c.hasPath("kiln.lakehouse.catalog.credentials-file")
                ? Optional.of(string(c, "kiln.lakehouse.catalog.credentials-file")).filter(s -> !s.isBlank()).map(Path::of)
                : Optional.empty();
        catalog.check(metastoreUri, jdbcUrl, credentialsFile);
        Map<String, String> sparkConf = new LinkedHashMap<>();
        if (c.hasPath("kiln.spark.conf")) {
            for (Map.Entry<String, ConfigValue> e : c.getObject("kiln.spark.conf").entrySet()) {
                sparkConf.put(e.getKey(), String.valueOf(e.getValue().unwrapped()));
            }
        }
        sparkConf.putAll(extraSparkConf);
        return new LakehouseSettings(
                normalizeRoot(root),
                catalog,
                metastoreUri,
                string(c, "kiln.spark.master"),
                string(c, "kiln.spark.app-name"),
                sparkConf,
                jdbcUrl,
                credentialsFile,
                parseCommitPolicy(c));
    }

    /** {@code kiln.commit}: how commits that lose to concurrent ones are retried (defaults: {@link CommitPolicy#DEFAULT}). */
    private static CommitPolicy parseCommitPolicy(Config c) {
        CommitPolicy d = CommitPolicy.DEFAULT;
        int attempts = c.hasPath("kiln.commit.max-attempts") ? c.getInt("kiln.commit.max-attempts") : d.maxAttempts();
        if (attempts < 1 || attempts > 100) {
            throw new ConfigException("kiln.commit.max-attempts", "must be between 1 and 100, got " + attempts);
        }
        java.time.Duration backoff = c.hasPath("kiln.commit.backoff") ? c.getDuration("kiln.commit.backoff") : d.backoff();
        java.time.Duration max = c.hasPath("kiln.commit.max-backoff") ? c.getDuration("kiln.commit.max-backoff") : d.maxBackoff();
        if (backoff.isNegative() || max.compareTo(backoff) < 0) {
            throw new ConfigException("kiln.commit.max-backoff", "must be at least kiln.commit.backoff (" + backoff.toMillis()
                    + " ms), got " + max.toMillis() + " ms");
        }
        return new CommitPolicy(attempts, backoff, max);
    }

    /** A root without a scheme is a local path, made absolute against the working directory. */
    static String normalizeRoot(String root) {
        if (root.isBlank()) {
            throw new ConfigException("kiln.lakehouse.root", "must not be empty");
        }
        if (root.matches("^[A-Za-z][A-Za-z0-9+.-]*:.*")) {
            return root;
        }
        return Path.of(root).toAbsolutePath().normalize().toUri().toString();
    }

    private static DatasetSpec parseDataset(Config c, String name) {
        String base = "datasets." + name;
        if (!Identifiers.isPlain(name)) {
            throw new ConfigException(base, "dataset name '" + name + "' is not a plain identifier");
        }
        Config d = c.getConfig(base);
        String table = d.hasPath("table") ? string(d, "table", base + ".table") : name;
        if (!Identifiers.isPlain(table)) {
            throw new ConfigException(base + ".table", "'" + table + "' is not a plain identifier");
        }
        String format = string(d, "source.format", base + ".source.format").toLowerCase(Locale.ROOT);
        if (!Set.of("csv", "json", "parquet").contains(format)) {
            throw new ConfigException(base + ".source.format", "expected csv, json or parquet, got '" + format + "'");
        }
        String path = string(d, "source.path", base + ".source.path");
        Map<String, String> options = new TreeMap<>();
        if (d.hasPath("source.options")) {
            d.getObject("source.options").forEach((k, v) -> options.put(k, String.valueOf(v.unwrapped())));
        }

        List<ColumnContract> columns = new ArrayList<>();
        Set<String> known = new LinkedHashSet<>();
        List<? extends Config> schema = configList(d, "schema", base + ".schema");
        if (schema.isEmpty()) {
            throw new ConfigException(base + ".schema", "a dataset needs at least one column in its contract");
        }
        for (int i = 0; i < schema.size(); i++) {
            String at = base + ".schema[" + i + "]";
            Config col = schema.get(i);
            String colName = identifier(string(col, "name", at + ".name"), at + ".name");
            String typeText = string(col, "type", at + ".type");
            DataType type;
            try {
                type = DataType.fromDDL(typeText);
            } catch (Exception e) { // ParseException is checked in Java's eyes
                throw new ConfigException(at + ".type", "unknown type '" + typeText + "' (Spark SQL types: int, bigint,"
                        + " double, decimal(10,2), string, boolean, date, timestamp, ...)");
            }
            boolean nullable = !col.hasPath("nullable") || col.getBoolean("nullable");
            if (!known.add(colName)) {
                throw new ConfigException(at + ".name", "duplicate column '" + colName + "'");
            }
            String source = colName;
            if (col.hasPath("source")) {
                source = string(col, "source", at + ".source");
                if (source.isBlank()) {
                    throw new ConfigException(at + ".source", "must not be blank (it names the column in the source files)");
                }
            }
            for (int j = 0; j < columns.size(); j++) {
                if (columns.get(j).readsFrom(source)) {
                    throw new ConfigException(col.hasPath("source") ? at + ".source" : at + ".name", "source column '"
                            + source + "' is already mapped by schema[" + j + "] (source names are matched ignoring case)");
                }
            }
            columns.add(new ColumnContract(colName, type, nullable, source));
        }

        List<DerivedColumn> derived = new ArrayList<>();
        List<? extends Config> derivedConfigs = d.hasPath("derived") ? configList(d, "derived", base + ".derived") : List.of();
        for (int i = 0; i < derivedConfigs.size(); i++) {
            String at = base + ".derived[" + i + "]";
            String colName = identifier(string(derivedConfigs.get(i), "name", at + ".name"), at + ".name");
            if (!known.add(colName)) {
                throw new ConfigException(at + ".name", "column '" + colName + "' is already defined");
            }
            derived.add(new DerivedColumn(colName, string(derivedConfigs.get(i), "expr", at + ".expr")));
        }

        String eventTime = identifier(string(d, "event-time", base + ".event-time"), base + ".event-time");
        requireKnown(known, eventTime, base + ".event-time");
        List<String> partitionBy = identifiers(d, "partition-by", base + ".partition-by", known);
        List<String> keys = identifiers(d, "keys", base + ".keys", known);

        List<Expectation> expectations = new ArrayList<>();
        List<? extends Config> expectationConfigs =
                d.hasPath("expectations") ? configList(d, "expectations", base + ".expectations") : List.of();
        Set<String> expectationNames = new LinkedHashSet<>();
        for (int i = 0; i < expectationConfigs.size(); i++) {
            String at = base + ".expectations[" + i + "]";
            String expName = identifier(string(expectationConfigs.get(i), "name", at + ".name"), at + ".name");
            if (!expectationNames.add(expName)) {
                throw new ConfigException(at + ".name", "duplicate expectation '" + expName + "'");
            }
            expectations.add(new Expectation(expName, string(expectationConfigs.get(i), "expr", at + ".expr")));
        }

        String modeText = d.hasPath("write-mode") ? string(d, "write-mode", base + ".write-mode") : "append";
        DatasetSpec.WriteMode mode;
        try {
            mode = DatasetSpec.WriteMode.valueOf(modeText.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(base + ".write-mode", "expected 'append' or 'merge', got '" + modeText + "'");
        }
        if (mode == DatasetSpec.WriteMode.MERGE && keys.isEmpty()) {
            throw new ConfigException(base + ".keys", "write-mode = merge needs key columns to upsert on");
        }
        boolean allowNewColumns = d.hasPath("allow-new-columns") && d.getBoolean("allow-new-columns");
        List<String> statsColumns;
        if (d.hasPath("stats-columns")) {
            statsColumns = identifiers(d, "stats-columns", base + ".stats-columns", known);
        } else {
            // Default: what queries filter on beyond the partitions, the event time and the keys.
            LinkedHashSet<String> defaults = new LinkedHashSet<>();
            defaults.add(eventTime);
            defaults.addAll(keys);
            partitionBy.forEach(defaults::remove);
            statsColumns = List.copyOf(defaults);
        }
        String description = d.hasPath("description") ? d.getString("description") : "";

        return new DatasetSpec(name, table, description, format, path, options, columns, derived, eventTime,
                partitionBy, expectations, keys, mode, allowNewColumns, statsColumns);
    }

    private static List<String> identifiers(Config d, String key, String at, Set<String> known) {
        if (!d.hasPath(key)) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        List<String> raw;
        try {
            raw = d.getStringList(key);
        } catch (com.typesafe.config.ConfigException e) {
            throw new ConfigException(at, "expected a list of column names");
        }
        for (int i = 0; i < raw.size(); i++) {
            String name = identifier(raw.get(i), at + "[" + i + "]");
            requireKnown(known, name, at + "[" + i + "]");
            if (out.contains(name)) {
                throw new ConfigException(at + "[" + i + "]", "duplicate column '" + name + "'");
            }
            out.add(name);
        }
        return List.copyOf(out);
    }

    private static void requireKnown(Set<String> known, String name, String at) {
        if (!known.contains(name)) {
            throw new ConfigException(at, "unknown column '" + name + "' (known: " + String.join(", ", known) + ")");
        }
    }

    private static String identifier(String value, String at) {
        return ConfigSection.identifier(value, at);
    }

    private static String string(Config c, String path) {
        return string(c, path, path);
    }

    private static String string(Config c, String key, String at) {
        if (!c.hasPath(key)) {
            throw new ConfigException(at, "missing");
        }
        ConfigValue v = c.getValue(key);
        if (v.valueType() == ConfigValueType.OBJECT || v.valueType() == ConfigValueType.LIST) {
            throw new ConfigException(at, "expected a single value, got " + v.valueType().name().toLowerCase(Locale.ROOT));
        }
        return String.valueOf(v.unwrapped());
    }

    private static List<? extends Config> configList(Config c, String key, String at) {
        if (!c.hasPath(key)) {
            throw new ConfigException(at, "missing");
        }
        ConfigValue v = c.getValue(key);
        if (!(v instanceof ConfigList list)) {
            throw new ConfigException(at, "expected a list");
        }
        for (int i = 0; i < list.size(); i++) {
            if (list.get(i).valueType() != ConfigValueType.OBJECT) {
                throw new ConfigException(at + "[" + i + "]", "expected an object");
            }
        }
        return c.getConfigList(key);
    }

}
