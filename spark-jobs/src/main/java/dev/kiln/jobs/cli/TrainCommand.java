package dev.kiln.jobs.cli;

import dev.kiln.training.Reproduction;
import dev.kiln.training.registry.ModelVersion;
import dev.kiln.training.spec.Algorithm;
import dev.kiln.training.spec.ModelSpec;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "train", mixinStandardHelpOptions = true, description = {"Train models.MODEL: build (or reuse) its training set, tune the algorithm's grid on"
        + " the time-based validation window, save the best PipelineModel under <root>/models/MODEL/<version> and register it"
        + " in ml.models. With --reproduce VERSION: retrain that version from its pinned training set and seed and report"
        + " whether params and metrics match (exit 1 if not); nothing is registered."})
final class TrainCommand implements Callable<Integer> {
    @ParentCommand
    KilnCommand parent;

    @Mixin
    GlobalOptions global;

    @Parameters(paramLabel = "MODEL")
    String model;

    @Option(names = "--algorithm", paramLabel = "ALGORITHM",
            description = "logistic-regression, random-forest, gbt or linear-regression (default: the spec's algorithm).")
    String algorithm;

    @Option(names = "--reproduce", paramLabel = "VERSION", description = "Retrain a registered version and compare.")
    Integer reproduce;

    @Override
    public Integer call() {
        try (KilnContext ctx = parent.open(global)) {
            ModelSpec spec = ModelSpec.parse(ctx.config().config(), model); // before Spark starts
            if (reproduce != null) {
                Reproduction r = ctx.kiln().reproduce(spec.name(), reproduce);
                ctx.out().println(r.summary());
                return r.matches() ? ExitCodes.OK : ExitCodes.JOB_FAILED;
            }
            ModelVersion v = ctx.kiln().train(spec.name(), algorithm == null ? spec.algorithm()
                    : Algorithm.parse(algorithm, spec.task(), "--algorithm"));
            ctx.out().println(v.describe());
        }
        return ExitCodes.OK;
    }
}
