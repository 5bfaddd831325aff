package dev.kiln.jobs.sqlserver;

import dev.kiln.lakehouse.catalog.EmbeddedCatalogLock;
import dev.kiln.lakehouse.catalog.SparkSessions;
import dev.kiln.lakehouse.config.KilnConfig;
import dev.kiln.lakehouse.config.LakehouseSettings;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * The one way Kiln's servers ({@code kiln sql-server}, {@code kiln connect-server}) start the Spark application they
 * serve: Kiln's session settings for the configured catalog, Kiln's SQL functions bound to the process's
 * configuration for every client session, and the read-only check ({@link ReadOnlySql}) unless writes are allowed.
 */
public final class ServedSessions {
    /** The session setting that names the serving command in the read-only check's message. */
    public static final String SERVER_CONF = "spark.kiln.server";

    private ServedSessions() {
    }

    /**
     * Kiln's session settings plus {@code serverConf}, under the app name {@code <app> <server>}; with the
     * read-only check among the extensions unless {@code allowWrites}.
     */
    public static LakehouseSettings settings(LakehouseSettings lakehouse, String server, boolean allowWrites,
            Map<String, String> serverConf) {
        Map<String, String> conf = new LinkedHashMap<>(lakehouse.sparkConf());
        conf.putAll(serverConf);
        conf.put(SERVER_CONF, server);
        if (!allowWrites) {
            String configured = conf.getOrDefault("spark.sql.extensions", "");
            conf.put("spark.sql.extensions", (configured.isBlank() ? "" : configured + ",") + ReadOnlySql.class.getName());
        }
        return dev.kiln.api.Kiln.withSqlFunctions(new LakehouseSettings(lakehouse.root(), lakehouse.catalog(),
                lakehouse.metastoreUri(), lakehouse.sparkMaster(), lakehouse.appName() + " " + server, conf,
                lakehouse.jdbcUrl(), lakehouse.credentialsFile(), lakehouse.commitPolicy()));
    }

    /** Starts the served application; every session it makes (one per client) gets Kiln's SQL functions with {@code config}. */
    public static SparkSession start(KilnConfig config, LakehouseSettings settings) {
        if (settings.catalog() == LakehouseSettings.CatalogType.EMBEDDED) {
            System.out.println("[kiln] the embedded catalog admits one process: while this server runs it holds "
                    + settings.root() + ", and Kiln jobs, kiln sql and spark-sql on it stop with a one-line message;"
                    + " share the catalog (" + EmbeddedCatalogLock.SHARED_SETTING + ") to query while jobs run");
        }
        SparkSession spark = SparkSessions.open(settings);
        spark.sparkContext().setLogLevel("WARN");
        dev.kiln.api.sql.KilnSqlFunctions.bind(spark.sparkContext(), config);
        return spark;
    }

    /** The class of a server that only a Spark distribution carries, or a one-line error naming the jar and bin/kiln. */
    public static Class<?> serverClass(String className, String what, String jar) {
        try {
            return Class.forName(className);
        } catch (ClassNotFoundException e) {
            throw new dev.kiln.lakehouse.KilnException(what + " (" + jar + ") is not on the classpath: run it through bin/kiln,"
                    + " which uses a Spark distribution's jars ($SPARK_HOME, or the pyspark one of scripts/setup-venv.sh),"
                    + " or through spark-submit of a Spark distribution");
        }
    }
}
