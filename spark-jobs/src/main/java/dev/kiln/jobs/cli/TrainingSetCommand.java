package dev.kiln.jobs.cli;

import dev.kiln.features.trainingset.TrainingSetRebuild;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "training-set", mixinStandardHelpOptions = true, description = "Point-in-time training sets: build, list, rebuild from the registry.",
        subcommands = {TrainingSetCommand.Build.class, TrainingSetCommand.ListSets.class, TrainingSetCommand.Rebuild.class})
final class TrainingSetCommand implements Runnable {
    @ParentCommand
    KilnCommand parent;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    @Command(name = "build", mixinStandardHelpOptions = true, description = {"Build training-sets.NAME: events + label + point-in-time features ->"
            + " a Delta snapshot and a row in features.training_sets. Unchanged inputs: the registered set is reused."})
    static final class Build implements Callable<Integer> {
        @ParentCommand
        TrainingSetCommand parent;

        @Mixin
        GlobalOptions global;

        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        public Integer call() {
            try (KilnContext ctx = parent.parent.open(global)) {
                dev.kiln.features.trainingset.TrainingSetSpec.parse(ctx.config().config(), name); // before Spark starts
                ctx.out().println(ctx.kiln().buildTrainingSet(name).summary());
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Registered training sets, newest first.")
    static final class ListSets implements Callable<Integer> {
        @ParentCommand
        TrainingSetCommand parent;

        @Mixin
        GlobalOptions global;

        @Override
        public Integer call() {
            try (KilnContext ctx = parent.parent.open(global)) {
                Tables.print(ctx.out(), ctx.kiln().trainingSets().select("id", "name", "row_count",
                        "table_name", "inputs", "created_at"), 1_000);
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "rebuild", mixinStandardHelpOptions = true, description = {"Recompute a registered training set from its registry row (the same"
            + " declaration, feature versions and input Delta versions) and compare it row for row with its snapshot."
            + " Exits 1 when they differ."})
    static final class Rebuild implements Callable<Integer> {
        @ParentCommand
        TrainingSetCommand parent;

        @Mixin
        GlobalOptions global;

        @Parameters(paramLabel = "ID")
        String id;

        @Override
        public Integer call() {
            try (KilnContext ctx = parent.parent.open(global)) {
                TrainingSetRebuild r = ctx.kiln().rebuildTrainingSet(id);
                ctx.out().println(r.summary());
                return r.identical() ? ExitCodes.OK : ExitCodes.JOB_FAILED;
            }
        }
    }
}
