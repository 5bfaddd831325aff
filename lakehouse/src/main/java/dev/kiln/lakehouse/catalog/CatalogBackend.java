package dev.kiln.lakehouse.catalog;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.config.ConfigException;
import dev.kiln.lakehouse.config.LakehouseSettings;
import java.io.File;
import java.net.URI;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.sql.SparkSession;

/**
 * Where a lakehouse's tables are registered ({@code kiln.lakehouse.catalog.type}): one implementation per type, and
 * the one place a new type is added ({@link #of}'s switch is exhaustive). {@link SparkSessions} asks it for the
 * metastore's settings and lets it start the session.
 */
interface CatalogBackend {
    static CatalogBackend of(LakehouseSettings.CatalogType type) {
        return switch (type) {
            case EMBEDDED -> new Embedded();
            case POSTGRES -> new Postgres();
            case HIVE -> new Hive();
        };
    }

    /** The metastore's Spark settings, printable ({@code kiln catalog-conf}): never a secret. */
    void addConf(LakehouseSettings settings, Map<String, String> conf);

    /** Work before any Spark class loads. */
    default void beforeStart(LakehouseSettings settings) {}

    /** Starts the session from a builder that holds Kiln's settings and this catalog's. */
    default SparkSession start(SparkSession.Builder builder, LakehouseSettings settings) {
        return builder.enableHiveSupport().getOrCreate();
    }

    /** A Derby metastore under the lakehouse root: zero setup, one process at a time (a lock file says which). */
    final class Embedded implements CatalogBackend {
        @Override
        public void addConf(LakehouseSettings settings, Map<String, String> conf) {
            if (!settings.root().startsWith("file:")) {
                throw new ConfigException("kiln.lakehouse.catalog.type", "the embedded catalog needs a local"
                        + " kiln.lakehouse.root, got " + settings.root() + "; use catalog.type = hive with a"
                        + " metastore-uri for hdfs:// or s3a:// roots");
            }
            conf.put("spark.hadoop.javax.jdo.option.ConnectionURL",
                    "jdbc:derby:;databaseName=" + settings.metastoreDir() + ";create=true");
        }

        @Override
        public void beforeStart(LakehouseSettings settings) {
            // Before any Spark class loads: a second process is refused within a second or two of its start.
            File root = new File(URI.create(settings.root()));
            if (!root.isDirectory() && !root.mkdirs()) {
                throw new KilnException("cannot create the lakehouse root " + root);
            }
            EmbeddedCatalogLock.acquire(root.toPath());
            if (System.getProperty("derby.stream.error.file") == null && System.getProperty("derby.system.home") == null) {
                // Otherwise Derby drops derby.log into whatever directory the job was started from.
                System.setProperty("derby.stream.error.file", new File(root, "derby.log").getPath());
            }
        }
    }

    /** Spark's Hive client on a metastore database in PostgreSQL: shared by every process that reaches it. */
    final class Postgres implements CatalogBackend {
        /** Key of the PostgreSQL advisory lock under which a session's first metastore use runs (schema creation). */
        private static final long SCHEMA_LOCK_KEY = 0x6b696c6e4d53L; // "kilnMS"

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

        @Override
        public void addConf(LakehouseSettings settings, Map<String, String> conf) {
            // The user and password are not part of this (printable) conf: start adds them.
            conf.put("spark.hadoop.javax.jdo.option.ConnectionURL", jdbcUrl(settings));
            conf.put("spark.hadoop.javax.jdo.option.ConnectionDriverName", "org.postgresql.Driver");
            conf.putAll(METASTORE_DATABASE_SCHEMA);
        }

        @Override
        public SparkSession start(SparkSession.Builder builder, LakehouseSettings settings) {
            MetastoreCredentials credentials = MetastoreCredentials.resolve(System.getenv(), settings.credentialsFile());
            // In this process's Spark conf only: never on a command line, and Spark and Hive mask *password* keys.
            builder.config("spark.hadoop.javax.jdo.option.ConnectionUserName", credentials.user());
            builder.config("spark.hadoop.javax.jdo.option.ConnectionPassword", credentials.password());
            SparkSession spark = builder.enableHiveSupport().getOrCreate();
            createSchemaInTurn(spark, jdbcUrl(settings), credentials);
            return spark;
        }

        /** The metastore database's JDBC URL: {@code catalog.jdbc-url}, else the credentials file's {@code url=}. */
        static String jdbcUrl(LakehouseSettings settings) {
            Optional<String> url = settings.jdbcUrl().or(() -> MetastoreCredentials.urlOf(settings.credentialsFile()));
            return url.orElseThrow(() -> new ConfigException("kiln.lakehouse.catalog.jdbc-url", "required when"
                    + " kiln.lakehouse.catalog.type = postgres (the credentials file " + settings.credentialsFile()
                    .map(String::valueOf).orElse("(none)") + " has no url= line either)"));
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
    }

    /** An external Thrift Hive metastore service, shared by every driver (and other engines) that reach it. */
    final class Hive implements CatalogBackend {
        @Override
        public void addConf(LakehouseSettings settings, Map<String, String> conf) {
            conf.put("spark.hadoop.hive.metastore.uris", settings.metastoreUri().orElseThrow());
        }
    }
}
