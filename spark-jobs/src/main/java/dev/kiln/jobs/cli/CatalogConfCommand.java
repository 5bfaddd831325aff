package dev.kiln.jobs.cli;

import dev.kiln.api.sql.KilnSqlFunctions;
import dev.kiln.lakehouse.catalog.SparkSessions;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

@Command(name = "catalog-conf", mixinStandardHelpOptions = true, description = {
        "Print the --conf flags that let any Spark session (spark-sql, spark-shell, pyspark) see Kiln's catalog and use",
        "Kiln's SQL functions (kiln_historical_features, kiln_score, kiln_training_set) with this configuration.",
        "Delta and Kiln must be on that session's classpath too (e.g. --jars spark-jobs/target/kiln-jobs.jar)."})
final class CatalogConfCommand implements Callable<Integer> {
    @ParentCommand
    KilnCommand parent;

    @Mixin
    GlobalOptions global;

    @Override
    public Integer call() {
        try (KilnContext ctx = parent.open(global)) {
            Map<String, String> conf = new java.util.LinkedHashMap<>(SparkSessions.catalogConf(ctx.config().lakehouse()));
            // Kiln's SQL functions (kiln_historical_features, kiln_score, kiln_training_set), opened with this conf dir.
            conf.put("spark.sql.extensions", conf.get("spark.sql.extensions") + "," + KilnSqlFunctions.class.getName());
            conf.put(KilnSqlFunctions.CONF_DIR, ctx.confDir().toString());
            if (ctx.environment() != null) {
                conf.put(KilnSqlFunctions.ENV, ctx.environment());
            }
            // This command's own --conf settings, for the functions' Kiln; secrets are never printed.
            ctx.overrides().forEach((k, v) -> {
                if (!KilnCommand.looksSecret(k)) {
                    conf.put(KilnSqlFunctions.OVERRIDE + k, v);
                }
            });
            for (Map.Entry<String, String> e : conf.entrySet()) {
                ctx.out().println("--conf " + e.getKey() + "=" + e.getValue());
            }
            if (ctx.config().lakehouse().catalog() == dev.kiln.lakehouse.config.LakehouseSettings.CatalogType.POSTGRES) {
                ctx.out().println("# not printed: the metastore database's user and password; give the session a hive-site.xml"
                        + " (mode 600) with javax.jdo.option.ConnectionUserName and ConnectionPassword in its SPARK_CONF_DIR,"
                        + " or share the catalog through scripts/metastore.sh (catalog.type = hive)");
            }
        }
        return ExitCodes.OK;
    }
}
