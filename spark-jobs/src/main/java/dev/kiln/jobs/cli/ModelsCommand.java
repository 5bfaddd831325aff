package dev.kiln.jobs.cli;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.max;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.training.registry.ModelUri;
import dev.kiln.training.registry.Promotion;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Row;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "models", mixinStandardHelpOptions = true, description = "The model registry: list, describe, promote,"
        + " candidates, export-mlflow, sync.", subcommands = {ModelsCommand.ListModels.class, ModelsCommand.Describe.class,
        ModelsCommand.Promote.class, ModelsCommand.Candidates.class, ModelsCommand.ExportMlflow.class, ModelsCommand.Sync.class})
final class ModelsCommand implements Runnable {
    @ParentCommand
    KilnCommand parent;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Registered versions (ml.models) and aliases (ml.model_aliases).")
    static final class ListModels implements Callable<Integer> {
        @ParentCommand
        ModelsCommand parent;

        @Mixin
        GlobalOptions global;

        @Override
        public Integer call() {
            try (KilnContext ctx = parent.parent.open(global)) {
                Tables.print(ctx.out(), ctx.lakehouse().spark().sql("SELECT m.name, m.version, m.algorithm, m.metric,"
                        + " round(m.metrics[m.metric], 6) AS value, m.training_set_id, m.created_at,"
                        + " concat_ws(',', collect_list(a.alias)) AS aliases FROM ml.models m LEFT JOIN ml.model_aliases a"
                        + " ON a.name = m.name AND a.version = m.version GROUP BY ALL ORDER BY m.name, m.version"), 10_000);
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "candidates", mixinStandardHelpOptions = true, description = "Every grid point the trainings of NAME"
            + " fitted (ml.training_runs): params, the validation metric, fit time, the one registered.")
    static final class Candidates implements Callable<Integer> {
        @ParentCommand
        ModelsCommand parent;

        @Mixin
        GlobalOptions global;

        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        public Integer call() {
            try (KilnContext ctx = parent.parent.open(global)) {
                Tables.print(ctx.out(), ctx.kiln().trainingRuns().where(col("model_name").equalTo(name))
                        .selectExpr("model_version AS version", "candidate", "algorithm", "params", "metric",
                                "round(metrics[metric], 6) AS value", "round(fit_seconds, 1) AS fit_s", "chosen", "run_id")
                        .orderBy(col("version"), col("candidate")), 10_000);
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "export-mlflow", mixinStandardHelpOptions = true, description = {"Write MLflow's files (MLmodel with"
            + " the spark and python_function flavors, signature, requirements.txt, python_env.yaml, conda.yaml) into every"
            + " registered version's directory that lacks them: versions trained before Kiln wrote them.",
            "A version that has them is left alone (a second run writes nothing). New versions get them when trained."})
    static final class ExportMlflow implements Callable<Integer> {
        @ParentCommand
        ModelsCommand parent;

        @Mixin
        GlobalOptions global;

        @Option(names = "--model", paramLabel = "NAME", description = "Only this model's versions (default: every model).")
        String model;

        @Override
        public Integer call() {
            try (KilnContext ctx = parent.parent.open(global)) {
                java.util.List<String> written = ctx.kiln().exportMlflow(Optional.ofNullable(model));
                ctx.out().println(written.isEmpty() ? "every version already has its MLflow files: nothing written"
                        : written.size() + " version(s) written");
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "sync", mixinStandardHelpOptions = true, description = {"Mirror into MLflow (kiln.mlflow.tracking-uri) what"
            + " it lacks of the registry: a run per version with one child run per grid point, the model version with"
            + " Kiln's number, the aliases.", "Idempotent: a second sync changes nothing. kiln train and kiln models promote"
            + " mirror on their own when the mirror is on; sync catches up after MLflow was unreachable."})
    static final class Sync implements Callable<Integer> {
        @ParentCommand
        ModelsCommand parent;

        @Mixin
        GlobalOptions global;

        @Option(names = "--model", paramLabel = "NAME", description = "Only this model (default: every model).")
        String model;

        @Override
        public Integer call() {
            try (KilnContext ctx = parent.parent.open(global)) {
                ctx.out().println(ctx.kiln().syncMlflow(Optional.ofNullable(model)).summary());
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "describe", mixinStandardHelpOptions = true, description = "One version: models:/NAME/VERSION or models:/NAME@ALIAS.")
    static final class Describe implements Callable<Integer> {
        @ParentCommand
        ModelsCommand parent;

        @Mixin
        GlobalOptions global;

        @Parameters(paramLabel = "URI")
        String uri;

        @Override
        public Integer call() {
            ModelUri parsed = ModelUri.parse(uri);
            try (KilnContext ctx = parent.parent.open(global)) {
                ctx.out().println(ctx.kiln().model(parsed.toString()).describe());
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "promote", mixinStandardHelpOptions = true, description = {"Point --alias at NAME's VERSION. With --if-better-than ALIAS, only when the"
            + " version beats that alias's version on the same metric over the same validation window; exit 1 otherwise."})
    static final class Promote implements Callable<Integer> {
        @ParentCommand
        ModelsCommand parent;

        @Mixin
        GlobalOptions global;

        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Parameters(index = "1", paramLabel = "VERSION", description = "A version number, or 'latest': the newest registered"
                + " version of NAME (what the train step of a pipeline just registered).")
        String version;

        @Option(names = "--alias", required = true, paramLabel = "ALIAS")
        String alias;

        @Option(names = "--if-better-than", paramLabel = "ALIAS")
        String ifBetterThan;

        @Option(names = "--no-fail-if-not-better", description = "With --if-better-than: exit 0 when the version is not"
                + " better (nothing is promoted), for pipelines where that is an expected outcome.")
        boolean noFailIfNotBetter;

        @Override
        public Integer call() {
            dev.kiln.lakehouse.catalog.Identifiers.require(alias, "alias");
            if (!"latest".equals(version) && !version.matches("[0-9]{1,9}")) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "VERSION: expected a version number or 'latest', got '" + version + "'");
            }
            try (KilnContext ctx = parent.parent.open(global)) {
                int v = "latest".equals(version) ? latest(ctx, name) : Integer.parseInt(version);
                Promotion p = ctx.kiln().promote(name, v, alias, Optional.ofNullable(ifBetterThan));
                ctx.out().println(p.message());
                return p.promoted() || noFailIfNotBetter ? ExitCodes.OK : ExitCodes.JOB_FAILED;
            }
        }

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        private static int latest(KilnContext ctx, String name) {
            Row newest = ctx.kiln().models().where(col("name").equalTo(name)).agg(max("version")).first();
            if (newest.isNullAt(0)) {
                throw new KilnException("no registered version of model '" + name + "' (kiln train " + name
                        + " first)");
            }
            return ((Number) newest.get(0)).intValue();
        }
    }
}
