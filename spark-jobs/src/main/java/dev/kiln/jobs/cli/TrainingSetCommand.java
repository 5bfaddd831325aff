package dev.kiln.jobs.cli;

import dev.kiln.features.definition.FeatureSets;
import dev.kiln.features.trainingset.TrainingSet;
import dev.kiln.features.trainingset.TrainingSetBuilder;
import dev.kiln.features.trainingset.TrainingSetRegistry;
import dev.kiln.features.trainingset.TrainingSetSpec;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "training-set", description = "Point-in-time training sets: build, list, rebuild from the registry.",
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

    static TrainingSetBuilder builder(KilnContext ctx) {
        return new TrainingSetBuilder(ctx.lakehouse(), FeatureSets.parse(ctx.config().config()), ctx::progress);
    }

    /** Builds (or finds already built) a declared training set, recorded in ops.job_runs. */
    static TrainingSet build(KilnContext ctx, String name) {
        TrainingSetSpec spec = TrainingSetSpec.parse(ctx.config().config(), name);
        return ctx.runJob("training-set build " + name, runId -> builder(ctx).build(spec),
                s -> new KilnContext.Rows(null, s.reused() ? 0L : s.rowCount(), null));
    }

    @Command(name = "build", description = {"Build training-sets.NAME: events + label + point-in-time features ->"
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
                ctx.out().println(build(ctx, name).summary());
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "list", description = "Registered training sets, newest first.")
    static final class ListSets implements Callable<Integer> {
        @ParentCommand
        TrainingSetCommand parent;

        @Mixin
        GlobalOptions global;

        @Override
        public Integer call() {
            try (KilnContext ctx = parent.parent.open(global)) {
                Tables.print(ctx.out(), new TrainingSetRegistry(ctx.lakehouse()).list().select("id", "name", "row_count",
                        "table_name", "inputs", "created_at"), 1_000);
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "rebuild", description = {"Recompute a registered training set from its registry row (the same"
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
                TrainingSetBuilder.Rebuild r = ctx.runJob("training-set rebuild " + id, runId -> builder(ctx).rebuild(id),
                        x -> new KilnContext.Rows(x.set().rowCount(), x.rebuiltRows(), null));
                ctx.out().println(r.summary());
                return r.identical() ? ExitCodes.OK : ExitCodes.JOB_FAILED;
            }
        }
    }
}
