package dev.kiln.jobs.cli;

import dev.kiln.features.trainingset.TrainingSet;
import dev.kiln.training.Trainer;
import dev.kiln.training.registry.ModelRegistry;
import dev.kiln.training.registry.ModelVersion;
import dev.kiln.training.spec.Algorithm;
import dev.kiln.training.spec.ModelSpec;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "train", description = {"Train models.MODEL: build (or reuse) its training set, tune the algorithm's grid on"
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
            ModelSpec spec = ModelSpec.parse(ctx.config().config(), model);
            if (reproduce != null) {
                ModelVersion registered = new ModelRegistry(ctx.lakehouse()).get(spec.name(), reproduce);
                Trainer.Reproduction r = ctx.runJob("train " + model + " --reproduce " + reproduce,
                        runId -> new Trainer(ctx.lakehouse(), ctx::progress).reproduce(spec, registered), x -> KilnContext.Rows.NONE);
                ctx.out().println(r.summary());
                return r.matches() ? ExitCodes.OK : ExitCodes.JOB_FAILED;
            }
            ModelVersion v = train(ctx, spec, algorithm == null ? spec.algorithm()
                    : Algorithm.parse(algorithm, spec.task(), "--algorithm"));
            ctx.out().println(describe(v));
        }
        return ExitCodes.OK;
    }

    /** Builds or reuses the model's training set, then trains and registers one version. */
    static ModelVersion train(KilnContext ctx, ModelSpec spec, Algorithm algorithm) {
        TrainingSet set = TrainingSetCommand.build(ctx, spec.trainingSet());
        ctx.out().println(set.summary());
        return ctx.runJob("train " + spec.name() + " " + algorithm.text(),
                runId -> new Trainer(ctx.lakehouse(), ctx::progress).train(spec, algorithm, set, runId),
                v -> new KilnContext.Rows(v.metrics().get("n_train").longValue(), null, null));
    }

    static String describe(ModelVersion v) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("%s (%s, %s): %s %.6f on %s .. %s%n", v.uri(), v.task(), v.algorithm(), v.metric(),
                v.metricValue(), v.trainUntil(), v.validateUntil()));
        v.metrics().forEach((k, x) -> sb.append(String.format("  %-14s %s%n", k, x)));
        sb.append("  training set   ").append(v.trainingSetId()).append(", inputs ").append(v.inputs()).append('\n');
        sb.append("  params         ").append(v.params()).append('\n');
        sb.append("  artifact       ").append(v.artifactPath());
        return sb.toString();
    }
}
