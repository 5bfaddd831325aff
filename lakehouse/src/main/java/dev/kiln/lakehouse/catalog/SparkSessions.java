package dev.kiln.lakehouse.catalog;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.config.ConfigException;
import dev.kiln.lakehouse.config.LakehouseSettings;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.deploy.SparkHadoopUtil;
import org.apache.spark.sql.SparkSession;

/**
 * Starts the SparkSession Kiln jobs run in: Delta's extension and catalog, Hive support backed by the
 * lakehouse's metastore (embedded Derby under the root, or an external Hive metastore), and the
 * configured Spark settings. Settings that spark-submit already put on the command line win over
 * Kiln's defaults, so {@code spark-submit --conf k=v} behaves as users expect. With event logging on (Kiln's
 * default), the log goes to {@code spark.eventLog.dir}, or {@code <lakehouse root>/spark-events} when that is
 * not set, and that directory is created before the session starts.
 */
public final class SparkSessions {
    private static final java.util.List<String> AUDIT_STRING_COLUMNS = java.util.List.of("_source_file", "_batch_id");

    private static final String EVENT_LOG_DIR = "spark.eventLog.dir";

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

    public static SparkSession open(LakehouseSettings settings) {
        requireNonNull(settings, "settings is null");
        SparkConf submitted = new SparkConf(); // holds spark.* system properties set by spark-submit
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
        SparkConf effective = new SparkConf().setAll(scala.jdk.javaapi.CollectionConverters.asScala(kilnConf));
        if (effective.getBoolean("spark.eventLog.enabled", false)) {
            createEventLogDir(effective);
        }
        if (settings.catalog() == LakehouseSettings.CatalogType.EMBEDDED && System.getProperty("derby.stream.error.file") == null
                && System.getProperty("derby.system.home") == null) {
            // Otherwise Derby drops derby.log into whatever directory the job was started from.
            File root = new File(URI.create(settings.root()));
            if (!root.isDirectory() && !root.mkdirs()) {
                throw new KilnException("cannot create the lakehouse root " + root);
            }
            System.setProperty("derby.stream.error.file", new File(root, "derby.log").getPath());
        }
        return builder.enableHiveSupport().getOrCreate();
    }

    /**
     * The settings any Spark session needs to see Kiln's catalog; also what {@code kiln catalog-conf}
     * prints for {@code spark-sql} and notebooks.
     */
    public static Map<String, String> catalogConf(LakehouseSettings settings) {
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension");
        conf.put("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog");
        conf.put("spark.sql.catalogImplementation", "hive");
        conf.put("spark.sql.warehouse.dir", settings.warehouseDir());
        switch (settings.catalog()) {
            case EMBEDDED -> {
                if (!settings.root().startsWith("file:")) {
                    throw new ConfigException("kiln.lakehouse.catalog.type", "the embedded catalog needs a local"
                            + " kiln.lakehouse.root, got " + settings.root() + "; use catalog.type = hive with a"
                            + " metastore-uri for hdfs:// or s3a:// roots");
                }
                conf.put("spark.hadoop.javax.jdo.option.ConnectionURL",
                        "jdbc:derby:;databaseName=" + settings.metastoreDir() + ";create=true");
            }
            case HIVE -> conf.put("spark.hadoop.hive.metastore.uris", settings.metastoreUri().orElseThrow());
        }
        return conf;
    }
}
