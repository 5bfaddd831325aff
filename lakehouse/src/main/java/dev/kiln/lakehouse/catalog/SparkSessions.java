package dev.kiln.lakehouse.catalog;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.config.LakehouseSettings;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.deploy.SparkHadoopUtil;
import org.apache.spark.sql.SparkSession;

/**
 * Starts the SparkSession Kiln jobs run in: Delta's extension and catalog, Hive support backed by the
 * lakehouse's metastore (embedded Derby under the root, a metastore database in PostgreSQL, or an external
 * Thrift Hive metastore), and the configured Spark settings. Settings that spark-submit already put on the command line win over
 * Kiln's defaults, so {@code spark-submit --conf k=v} behaves as users expect.
 * With event logging on (Kiln's default), the log goes to {@code spark.eventLog.dir}, or
 * {@code <lakehouse root>/spark-events} when that is not set, and that directory is created before the session starts.
 */
public final class SparkSessions {
    private static final java.util.List<String> AUDIT_STRING_COLUMNS = java.util.List.of("_source_file", "_batch_id");

    private static final String EVENT_LOG_DIR = "spark.eventLog.dir";
    private static final String EXTENSIONS = "spark.sql.extensions";
    private static final String CATALOG_IMPLEMENTATION = "spark.sql.catalogImplementation";

    private SparkSessions() {}

    /**
     * Where Kiln's jobs write their Spark event logs: the configured {@code spark.eventLog.dir}, else
     * {@code <lakehouse root>/spark-events}.
     */
    public static String eventLogDir(LakehouseSettings settings) {
        return settings.sparkConf().getOrDefault(EVENT_LOG_DIR, settings.root() + "/spark-events");
    }

    /** Creates the event log directory (Spark and its History Server refuse to start without it). */
    public static void createEventLogDir(LakehouseSettings settings) {
        SparkConf conf = new SparkConf().setAll(scala.jdk.javaapi.CollectionConverters.asScala(settings.sparkConf()));
        createEventLogDir(conf.set(EVENT_LOG_DIR, eventLogDir(settings)));
    }

    /** Spark refuses to start when the event log directory is missing. */
    private static void createEventLogDir(SparkConf conf) {
        String dir = conf.get(EVENT_LOG_DIR);
        try {
            Path path = new Path(dir);
            FileSystem fs = path.getFileSystem(SparkHadoopUtil.get().newConfiguration(conf));
            if (!fs.isDirectory(path) && !fs.mkdirs(path)) {
                throw new KilnException("cannot create the Spark event log directory " + dir);
            }
        } catch (IOException e) {
            throw new KilnException("cannot create the Spark event log directory " + dir + " (set spark.eventLog.dir"
                    + " to a writable directory, or spark.eventLog.enabled=false): " + e.getMessage(), e);
        }
    }

    /**
     * Starts the session. With {@code spark.sql.catalogImplementation = in-memory} among the embedded catalog's
     * Spark settings there is no metastore at all (no Derby, no lock): tables are registered for the life of the
     * session only, while their Delta data stays under the root. Kiln's unit tests use that; jobs should not.
     */
    public static SparkSession open(LakehouseSettings settings) {
        requireNonNull(settings, "settings is null");
        if (sessionCatalogOnly(settings)) {
            return builder(settings, new SparkConf()).getOrCreate();
        }
        CatalogBackend catalog = CatalogBackend.of(settings.catalog());
        catalog.beforeStart(settings);
        SparkConf submitted = new SparkConf(); // holds spark.* system properties set by spark-submit
        return catalog.start(builder(settings, submitted), settings);
    }

    private static boolean sessionCatalogOnly(LakehouseSettings settings) {
        return settings.catalog() == LakehouseSettings.CatalogType.EMBEDDED
                && "in-memory".equals(settings.sparkConf().get(CATALOG_IMPLEMENTATION));
    }

    /** Kiln's settings on a builder, without the metastore's: the caller adds those (or none). */
    private static SparkSession.Builder builder(LakehouseSettings settings, SparkConf submitted) {
        SparkSession.Builder builder = SparkSession.builder().appName(settings.appName());
        if (!submitted.contains("spark.master")) {
            builder.master(settings.sparkMaster());
        }
        for (Map.Entry<String, String> e : catalogConf(settings).entrySet()) {
            builder.config(e.getKey(), e.getValue());
        }
        // Kiln's audit columns hold one value per batch or file: Parquet min/max statistics on them skip
        // nothing and, on long strings such as file paths, cost a large share of a write's CPU.
        for (String column : AUDIT_STRING_COLUMNS) {
            builder.config("parquet.column.statistics.enabled#" + column, "false");
        }
        Map<String, String> kilnConf = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : settings.sparkConf().entrySet()) {
            if (!submitted.contains(e.getKey())) {
                kilnConf.put(e.getKey(), e.getValue());
            }
        }
        if (!submitted.contains(EVENT_LOG_DIR) && !kilnConf.containsKey(EVENT_LOG_DIR)) {
            kilnConf.put(EVENT_LOG_DIR, settings.root() + "/spark-events");
        }
        for (Map.Entry<String, String> e : kilnConf.entrySet()) {
            builder.config(e.getKey(), e.getValue());
        }
        // Delta's, Kiln's configured ones and spark-submit's: each list adds to the others, none drops one.
        builder.config(EXTENSIONS, extensions(catalogConf(settings).get(EXTENSIONS), settings.sparkConf().getOrDefault(EXTENSIONS, "")
                + "," + (submitted.contains(EXTENSIONS) ? submitted.get(EXTENSIONS) : "")));
        SparkConf effective = new SparkConf().setAll(scala.jdk.javaapi.CollectionConverters.asScala(kilnConf));
        if (effective.getBoolean("spark.eventLog.enabled", false)) {
            createEventLogDir(effective);
        }
        return builder;
    }

    /** Delta's extension first, then those configured (a configured list adds to Delta's, never drops it). */
    static String extensions(String delta, String configured) {
        java.util.LinkedHashSet<String> all = new java.util.LinkedHashSet<>();
        for (String list : new String[] {delta, configured}) {
            for (String name : list.split(",")) {
                if (!name.isBlank()) {
                    all.add(name.trim());
                }
            }
        }
        return String.join(",", all);
    }

    /**
     * Refuses a session the caller started whose catalog is not this lakehouse's (another warehouse, or no Delta
     * extension), naming both and the fix.
     */
    public static void requireLakehouseCatalog(SparkSession spark, LakehouseSettings settings) {
        Map<String, String> needed = catalogConf(settings);
        for (String key : List.of("spark.sql.warehouse.dir", "spark.sql.extensions")) {
            String have = spark.conf().get(key, "");
            String want = needed.get(key);
            boolean ok = key.equals("spark.sql.extensions") ? have.contains(want) : sameLocation(have, want);
            if (!ok) {
                throw new KilnException("this SparkSession was not started for Kiln's lakehouse " + settings.root()
                        + ": " + key + " is '" + have + "', Kiln needs '" + want + "' (start the session with the settings"
                        + " that `kiln catalog-conf` prints, and the job jar on spark.jars)");
            }
        }
    }

    private static boolean sameLocation(String a, String b) {
        return stripLocation(a).equals(stripLocation(b));
    }

    private static String stripLocation(String location) {
        String s = location.replaceAll("/+$", "");
        return s.startsWith("file:") ? s.replaceFirst("^file:/+", "/") : s;
    }

    /**
     * The settings any Spark session needs to see Kiln's catalog; also what {@code kiln catalog-conf}
     * prints for {@code spark-sql} and notebooks.
     */
    public static Map<String, String> catalogConf(LakehouseSettings settings) {
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put(EXTENSIONS, "io.delta.sql.DeltaSparkSessionExtension");
        conf.put("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog");
        conf.put(CATALOG_IMPLEMENTATION, "hive");
        conf.put("spark.sql.warehouse.dir", settings.warehouseDir());
        CatalogBackend.of(settings.catalog()).addConf(settings, conf);
        return conf;
    }
}
