package dev.kiln.jobs.cli;

import dev.kiln.lakehouse.catalog.SparkSessions;
import dev.kiln.lakehouse.config.LakehouseSettings;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.deploy.history.HistoryServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "history-server", mixinStandardHelpOptions = true, description = {
        "Run Spark's History Server over this lakehouse's event logs (<root>/spark-events, or spark.eventLog.dir):",
        "every Kiln run, finished or not, with its jobs, stages and SQL plans. Runs until stopped (Ctrl-C)."})
final class HistoryServerCommand implements Callable<Integer> {
    @ParentCommand
    KilnCommand parent;

    @Mixin
    GlobalOptions global;

    @Option(names = "--port", description = "The UI and REST API's port (default: ${DEFAULT-VALUE}; the next free one"
            + " when taken).")
    int port = 18080;

    @Override
    public Integer call() {
        LakehouseSettings settings;
        try (KilnContext ctx = parent.open(global)) { // reads the configuration only; starts no Spark session
            settings = ctx.config().lakehouse();
        }
        String dir = SparkSessions.eventLogDir(settings);
        SparkSessions.createEventLogDir(settings);
        // The History Server reads its settings from system properties, like spark-class would pass them.
        for (Map.Entry<String, String> e : settings.sparkConf().entrySet()) {
            if (e.getKey().startsWith("spark.hadoop.") || e.getKey().startsWith("spark.history.")) {
                System.setProperty(e.getKey(), e.getValue());
            }
        }
        System.setProperty("spark.history.fs.logDirectory", dir);
        System.setProperty("spark.history.ui.port", String.valueOf(port));
        System.out.println("[kiln] History Server for " + dir + " on http://localhost:" + port
                + " (REST API under /api/v1; Ctrl-C stops it)");
        System.out.flush();
        HistoryServer.main(new String[0]); // returns only when the JVM stops
        return ExitCodes.OK;
    }
}
