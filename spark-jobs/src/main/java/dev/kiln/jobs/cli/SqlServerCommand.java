package dev.kiln.jobs.cli;

import dev.kiln.jobs.sqlserver.ServedSessions;
import dev.kiln.jobs.sqlserver.SqlServerAuthenticator;
import dev.kiln.jobs.sqlserver.SqlServerSettings;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.config.Credentials;
import dev.kiln.lakehouse.config.LakehouseSettings;
import java.lang.reflect.InvocationTargetException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.apache.spark.sql.SQLContext;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "sql-server", mixinStandardHelpOptions = true, description = {
        "Run the Spark Thrift Server (JDBC/ODBC, HiveServer2 protocol) over Kiln's catalog, for beeline and BI tools."
                + " Runs until stopped (Ctrl-C).",
        "Requires a user and password: KILN_SQL_USER and KILN_SQL_PASSWORD, or kiln.sql-server.credentials-file"
                + " (user= and password= lines). Read-only unless --allow-writes.",
        "On the embedded catalog the server holds it while it runs (Kiln jobs on it stop with one line); share the catalog"
                + " (kiln.lakehouse.catalog.type = postgres or hive) to query while jobs run.",
        "bin/kiln runs it on the Spark distribution's jars ($SPARK_HOME, else the pyspark one of scripts/setup-venv.sh)."})
final class SqlServerCommand implements Callable<Integer> {
    private static final String THRIFT_SERVER = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2";

    @ParentCommand
    KilnCommand parent;

    @Mixin
    GlobalOptions global;

    @Option(names = "--port", description = "Port to listen on (default: kiln.sql-server.port, 10000).")
    Integer port;

    @Option(names = "--bind", paramLabel = "ADDRESS", description = "Address to listen on (default:"
            + " kiln.sql-server.bind-address, 127.0.0.1: this machine only; 0.0.0.0 for every interface).")
    String bind;

    @Option(names = "--allow-writes", description = "Admit DDL and writes (INSERT, MERGE, UPDATE, DELETE, CREATE,"
            + " DROP, ALTER, ...) through the server; without it they are refused.")
    boolean allowWrites;

    @Override
    public Integer call() throws Exception {
        LakehouseSettings lakehouse;
        SqlServerSettings settings;
        dev.kiln.lakehouse.config.KilnConfig config;
        try (KilnContext ctx = parent.open(global)) { // reads the configuration only; starts no Spark session
            config = ctx.config();
            lakehouse = ctx.config().lakehouse();
            settings = SqlServerSettings.parse(ctx.config().config());
        }
        if (bind != null) {
            settings = settings.withBindAddress(bind);
        }
        if (port != null) {
            settings = settings.withPort(port);
        }
        if (allowWrites) {
            settings = settings.withWritesAllowed();
        }
        // Refuse at once, before Spark starts, when no login could ever succeed.
        Credentials credentials = SqlServerSettings.CREDENTIALS.resolve(System.getenv(), settings.credentialsFile());
        Class<?> server = ServedSessions.serverClass(THRIFT_SERVER, "the Spark Thrift Server", "spark-hive-thriftserver");
        SparkSession spark = ServedSessions.start(config, ServedSessions.settings(lakehouse, "sql-server",
                settings.allowWrites(), serverConf(settings)));
        try {
            server.getMethod("startWithContext", SQLContext.class).invoke(null, spark.sqlContext());
        } catch (InvocationTargetException e) {
            spark.stop();
            throw new KilnException("the Spark Thrift Server did not start on " + settings.bindAddress() + ":"
                    + settings.port() + ": " + KilnException.firstLine(String.valueOf(e.getCause()))
                    + " (another --port, or check that the address is this machine's)", e.getCause());
        }
        System.out.println("[kiln] SQL server on " + settings.bindAddress() + ":" + settings.port() + " ("
                + (settings.allowWrites() ? "writes allowed" : "read-only") + "), JDBC URL " + settings.jdbcUrl()
                + " ; user " + credentials.user() + ", password from " + passwordSource(settings)
                + " ; beeline -u " + settings.jdbcUrl() + " -n " + credentials.user() + " (Ctrl-C stops it)");
        System.out.flush();
        new CountDownLatch(1).await(); // Spark's shutdown hook stops the server when the JVM stops
        return ExitCodes.OK;
    }

    private static String passwordSource(SqlServerSettings settings) {
        String env = System.getenv(SqlServerSettings.PASSWORD_ENV);
        return env != null && !env.isEmpty() ? SqlServerSettings.PASSWORD_ENV
                : settings.credentialsFile().map(String::valueOf).orElse("?");
    }

    /** HiveServer2's settings: listen address and port, CUSTOM login. */
    private static Map<String, String> serverConf(SqlServerSettings settings) {
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("spark.hadoop.hive.server2.transport.mode", "binary");
        conf.put("spark.hadoop.hive.server2.thrift.bind.host", settings.bindAddress());
        conf.put("spark.hadoop.hive.server2.thrift.port", String.valueOf(settings.port()));
        conf.put("spark.hadoop.hive.server2.authentication", "CUSTOM");
        conf.put("spark.hadoop.hive.server2.custom.authentication.class", SqlServerAuthenticator.class.getName());
        // HiveServer2 builds each login's authenticator from a fresh HiveConf, which sees system properties only.
        System.setProperty("hive.server2.authentication", "CUSTOM");
        System.setProperty("hive.server2.custom.authentication.class", SqlServerAuthenticator.class.getName());
        settings.credentialsFile().ifPresent(f ->
                System.setProperty(SqlServerAuthenticator.CREDENTIALS_FILE_PROPERTY, f.toAbsolutePath().toString()));
        return conf;
    }
}
