package dev.kiln.jobs.cli;

import dev.kiln.training.registry.ModelRegistry;
import dev.kiln.training.registry.ModelUri;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "models", description = "The model registry: list, describe, promote.",
        subcommands = {ModelsCommand.ListModels.class, ModelsCommand.Describe.class, ModelsCommand.Promote.class})
final class ModelsCommand implements Runnable {
    @ParentCommand
    KilnCommand parent;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    @Command(name = "list", description = "Registered versions (ml.models) and aliases (ml.model_aliases).")
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

    @Command(name = "describe", description = "One version: models:/NAME/VERSION or models:/NAME@ALIAS.")
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
                ctx.out().println(TrainCommand.describe(new ModelRegistry(ctx.lakehouse()).resolve(parsed)));
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "promote", description = {"Point --alias at NAME's VERSION. With --if-better-than ALIAS, only when the"
            + " version beats that alias's version on the same metric over the same validation window; exit 1 otherwise."})
    static final class Promote implements Callable<Integer> {
        @ParentCommand
        ModelsCommand parent;

        @Mixin
        GlobalOptions global;

        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Parameters(index = "1", paramLabel = "VERSION")
        int version;

        @Option(names = "--alias", required = true, paramLabel = "ALIAS")
        String alias;

        @Option(names = "--if-better-than", paramLabel = "ALIAS")
        String ifBetterThan;

        @Override
        public Integer call() {
            dev.kiln.lakehouse.catalog.Identifiers.require(alias, "alias");
            try (KilnContext ctx = parent.parent.open(global)) {
                ModelRegistry.Promotion p = ctx.runJob("models promote " + name + " " + version + " --alias " + alias,
                        runId -> new ModelRegistry(ctx.lakehouse()).promote(name, version, alias,
                                Optional.ofNullable(ifBetterThan), System.getProperty("user.name", "unknown")),
                        x -> KilnContext.Rows.NONE);
                ctx.out().println(p.message());
                return p.promoted() ? ExitCodes.OK : ExitCodes.JOB_FAILED;
            }
        }
    }
}
