package dev.kiln.jobs.cli;

import dev.kiln.jobs.sqlserver.ConnectServerSettings;
import dev.kiln.jobs.sqlserver.ServedSessions;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.config.KilnConfig;
import java.lang.reflect.InvocationTargetException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.apache.spark.SparkContext;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "connect-server", mixinStandardHelpOptions = true, description = {
        "Run Spark's Connect server (gRPC) over Kiln's catalog with Kiln's SQL functions, for notebooks and"
                + " Connect-only clients (pyspark-client, SparkSession.builder.remote). Runs until stopped (Ctrl-C).",
        "Clients present a token: KILN_CONNECT_TOKEN, or kiln.connect-server.token-file (a file holding it); they"
                + " connect with sc://localhost:15002/;token=<token>. Read-only unless --allow-writes.",
        "On the embedded catalog the server holds it while it runs (Kiln jobs on it stop with one line); share the catalog"
                + " (kiln.lakehouse.catalog.type = postgres or hive) to query while jobs run.",
        "bin/kiln runs it on the Spark distribution's jars ($SPARK_HOME, else the pyspark one of scripts/setup-venv.sh)."})
final class ConnectServerCommand implements Callable<Integer> {
    private static final String CONNECT_SERVICE = "org.apache.spark.sql.connect.service.SparkConnectService";

    @ParentCommand
    KilnCommand parent;

    @Mixin
    GlobalOptions global;

    @Option(names = "--port", description = "Port to listen on (default: kiln.connect-server.port, 15002).")
    Integer port;

    @Option(names = "--bind", paramLabel = "ADDRESS", description = "Address to listen on (default:"
            + " kiln.connect-server.bind-address, 127.0.0.1: this machine only; 0.0.0.0 for every interface).")
    String bind;

    @Option(names = "--allow-writes", description = "Admit DDL and writes (INSERT, MERGE, CREATE TABLE, DROP, ...)"
            + " through the server; without it they are refused (queries and temporary views work).")
    boolean allowWrites;

    @Override
    public Integer call() throws Exception {
        KilnConfig config;
        ConnectServerSettings settings;
        try (KilnContext ctx = parent.open(global)) { // reads the configuration only; starts no Spark session
            config = ctx.config();
            settings = ConnectServerSettings.parse(ctx.config().config());
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
        // Refuse at once, before Spark starts, when no client could ever connect.
        String token = settings.token(System.getenv());
        Class<?> service = ServedSessions.serverClass(CONNECT_SERVICE, "Spark Connect", "spark-connect");
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("spark.connect.grpc.binding.address", settings.bindAddress());
        conf.put("spark.connect.grpc.binding.port", String.valueOf(settings.port()));
        conf.put("spark.connect.grpc.port.maxRetries", "0"); // the port asked for, or a clear failure
        // Spark redacts settings whose name holds "token" (spark.redaction.regex) in its UI, logs and event logs.
        conf.put("spark.connect.authenticate.token", token);
        SparkSession spark = ServedSessions.start(config, ServedSessions.settings(config.lakehouse(), "connect-server",
                settings.allowWrites(), conf));
        try {
            service.getMethod("start", SparkContext.class).invoke(null, spark.sparkContext());
        } catch (InvocationTargetException e) {
            spark.stop();
            throw new KilnException("the Spark Connect server did not start on " + settings.bindAddress() + ":"
                    + settings.port() + ": " + KilnException.firstLine(String.valueOf(e.getCause()))
                    + " (another --port, or check that the address is this machine's)", e.getCause());
        }
        System.out.println("[kiln] Spark Connect server on " + settings.bindAddress() + ":" + settings.port() + " ("
                + (settings.allowWrites() ? "writes allowed" : "read-only") + "), token from " + tokenSource(settings)
                + " ; SparkSession.builder.remote(\"" + settings.url() + "/;token=<token>\").getOrCreate() (Ctrl-C stops it)");
        System.out.flush();
        new CountDownLatch(1).await(); // Spark's shutdown hook stops the server when the JVM stops
        return ExitCodes.OK;
    }

    private static String tokenSource(ConnectServerSettings settings) {
        String env = System.getenv(ConnectServerSettings.TOKEN_ENV);
        return env != null && !env.isBlank() ? ConnectServerSettings.TOKEN_ENV
                : settings.tokenFile().map(String::valueOf).orElse("?");
    }
}
