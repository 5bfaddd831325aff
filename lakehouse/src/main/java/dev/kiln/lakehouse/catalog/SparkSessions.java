package dev.kiln.lakehouse.catalog;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.config.ConfigException;
import dev.kiln.lakehouse.config.LakehouseSettings;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import java.util.Optional;
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
    /** Key of the PostgreSQL advisory lock under which a session's first metastore use runs (schema creation). */
    private static final long SCHEMA_LOCK_KEY = 0x6b696c6e4d53L; // "kilnMS"

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
        if (settings.catalog() == LakehouseSettings.CatalogType.EMBEDDED) {
            // Before any Spark class loads: a second process is refused within a second or two of its start.
            File root = new File(URI.create(settings.root()));
            if (!root.isDirectory() && !root.mkdirs()) {
                throw new KilnException("cannot create the lakehouse root " + root);
            }
            EmbeddedCatalogLock.acquire(root.toPath());
        }
        SparkConf submitted = new SparkConf(); // holds spark.* system properties set by spark-submit
        SparkSession.Builder builder = builder(settings, submitted);
        if (settings.catalog() == LakehouseSettings.CatalogType.EMBEDDED) {
            File root = new File(URI.create(settings.root()));
            if (System.getProperty("derby.stream.error.file") == null && System.getProperty("derby.system.home") == null) {
                // Otherwise Derby drops derby.log into whatever directory the job was started from.
                System.setProperty("derby.stream.error.file", new File(root, "derby.log").getPath());
            }
        }
        if (settings.catalog() == LakehouseSettings.CatalogType.POSTGRES) {
            MetastoreCredentials credentials = MetastoreCredentials.resolve(System.getenv(), settings.credentialsFile());
            // In this process's Spark conf only: never on a command line, and Spark and Hive mask *password* keys.
            builder.config("spark.hadoop.javax.jdo.option.ConnectionUserName", credentials.user());
            builder.config("spark.hadoop.javax.jdo.option.ConnectionPassword", credentials.password());
            SparkSession spark = builder.enableHiveSupport().getOrCreate();
            createSchemaInTurn(spark, jdbcUrl(settings), credentials);
            return spark;
        }
        return builder.enableHiveSupport().getOrCreate();
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
     * The first use of a fresh metastore database creates Hive's schema (DataNucleus' autoCreateAll) and the
     * {@code default} database; two processes doing that at once race on the same tables. Each session's first
     * metastore call therefore runs under a PostgreSQL advisory lock, so first uses take turns (later ones find
     * the schema there and pass in milliseconds). Also the place where an unreachable database is reported.
     */
    private static void createSchemaInTurn(SparkSession spark, String url, MetastoreCredentials credentials) {
        try (Connection c = DriverManager.getConnection(url, credentials.user(), credentials.password())) {
            try (PreparedStatement lock = c.prepareStatement("SELECT pg_advisory_lock(?)")) {
                lock.setLong(1, SCHEMA_LOCK_KEY);
                lock.execute();
            }
            try {
                spark.catalog().databaseExists("default");
            } finally {
                try (PreparedStatement unlock = c.prepareStatement("SELECT pg_advisory_unlock(?)")) {
                    unlock.setLong(1, SCHEMA_LOCK_KEY);
                    unlock.execute();
                }
            }
        } catch (SQLException e) {
            throw new KilnException("cannot reach the metastore database " + url + " as " + credentials.user() + ": "
                    + KilnException.firstLine(e.getMessage()) + " (kiln.lakehouse.catalog.jdbc-url and credentials;"
                    + " scripts/setup-postgres.sh starts a local PostgreSQL)", e);
        }
    }

    /** The metastore database's JDBC URL: {@code catalog.jdbc-url}, else the credentials file's {@code url=}. */
    static String jdbcUrl(LakehouseSettings settings) {
        Optional<String> url = settings.jdbcUrl().or(() -> MetastoreCredentials.urlOf(settings.credentialsFile()));
        return url.orElseThrow(() -> new ConfigException("kiln.lakehouse.catalog.jdbc-url", "required when"
                + " kiln.lakehouse.catalog.type = postgres (the credentials file " + settings.credentialsFile().map(String::valueOf)
                .orElse("(none)") + " has no url= line either)"));
    }

    /**
     * How Hive's metastore treats a fresh database: DataNucleus creates the schema on first use (no manual SQL),
     * and Hive does not insist on a version table written by its own schema tool. DataNucleus creates tables
     * lazily, in a connection of its own, while the metastore's transaction holds row locks: on PostgreSQL its
     * {@code ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY ... REFERENCES "TBLS"} then waits forever on that
     * transaction (seen: the first {@code saveAsTable} hung, also with autoCreateConstraints=false next to
     * autoCreateAll, which implies them), so it creates tables and columns but no foreign keys (Hive's metastore
     * deletes dependent rows itself). Direct SQL is off: it expects the schema tool's layout, not DataNucleus'.
     */
    private static final Map<String, String> METASTORE_DATABASE_SCHEMA = Map.of(
            "spark.hadoop.datanucleus.schema.autoCreateAll", "false",
            "spark.hadoop.datanucleus.schema.autoCreateTables", "true",
            "spark.hadoop.datanucleus.schema.autoCreateColumns", "true",
            "spark.hadoop.datanucleus.schema.autoCreateConstraints", "false",
            "spark.hadoop.hive.metastore.schema.verification", "false",
            "spark.hadoop.hive.metastore.try.direct.sql", "false");

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
            case POSTGRES -> {
                // The user and password are not part of this (printable) conf: SparkSessions.open adds them.
                conf.put("spark.hadoop.javax.jdo.option.ConnectionURL", jdbcUrl(settings));
                conf.put("spark.hadoop.javax.jdo.option.ConnectionDriverName", "org.postgresql.Driver");
                conf.putAll(METASTORE_DATABASE_SCHEMA);
            }
            case HIVE -> conf.put("spark.hadoop.hive.metastore.uris", settings.metastoreUri().orElseThrow());
        }
        return conf;
    }
}
