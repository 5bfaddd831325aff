package dev.kiln.jobs.cli;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.max;

import dev.kiln.features.definition.FeatureSets;
import dev.kiln.features.materialize.MaterializedVersion;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.ingest.DatasetSpec;
import dev.kiln.lakehouse.ingest.IngestResult;
import dev.kiln.features.trainingset.TrainingSet;
import dev.kiln.reports.drift.DriftMonitor;
import dev.kiln.reports.drift.DriftThresholds;
import dev.kiln.reports.drift.DriftWindow;
import dev.kiln.reports.evaluation.Evaluator;
import dev.kiln.scoring.BatchScorer;
import dev.kiln.training.Trainer;
import dev.kiln.training.registry.ModelRegistry;
import dev.kiln.training.registry.ModelUri;
import dev.kiln.training.registry.ModelVersion;
import dev.kiln.training.spec.Algorithm;
import dev.kiln.training.spec.ModelSpec;
import java.time.LocalDate;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Row;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

@Command(name = "demo", description = {
        "Run the example flights pipeline end to end on the configured lakehouse: ingest flights-3m (Jan-Jun 2001)",
        "into raw.flights, materialize its feature sets, build the point-in-time training set, train logistic",
        "regression and GBT (Jan-Apr train, May validation), promote the better to champion through the gate (the",
        "other becomes challenger), score June with both, evaluate June, and measure drift May vs June.",
        "Re-running reuses what is already there (batches, feature periods, training set, model versions trained",
        "from the same set and config) and replaces June's predictions and reports.",
        "bin/kiln demo fetches the data first (scripts/fetch-flights.sh)."})
final class DemoCommand implements Callable<Integer> {
    static final String MODEL = "flight_delay";

    @ParentCommand
    KilnCommand parent;

    @Mixin
    GlobalOptions global;

    @Override
    public Integer call() {
        try (KilnContext ctx = parent.open(global)) {
            DatasetSpec flights = ctx.config().dataset("flights");
            if (!flights.path().contains("*") && !flights.path().contains("://") && !Files.exists(Path.of(flights.path()))) {
                throw new KilnException("flights data not found at " + flights.path()
                        + "; run scripts/fetch-flights.sh (bin/kiln demo does this itself) or set KILN_DATA_DIR");
            }
            Lakehouse lakehouse = ctx.lakehouse();
            Stages stages = new Stages(ctx);
            IngestResult ingest = stages.run("ingest", "flights -> raw.flights", () -> IngestCommand.ingest(ctx, flights, Optional.empty()));
            ctx.out().println(ingest.summary());

            List<MaterializedVersion> materialized = stages.run("features", "feature sets -> features.*", () -> {
                List<MaterializedVersion> out = FeaturesCommand.materializeAll(ctx,
                        List.copyOf(FeatureSets.parse(ctx.config().config()).all().values()));
                out.forEach(v -> ctx.out().println(v.summary()));
                return out;
            });

            TrainingSet trainingSet = stages.run("training set", "point in time -> features.training__" + MODEL + "__<id>",
                    () -> TrainingSetCommand.build(ctx, MODEL));
            ctx.out().println(trainingSet.summary());

            ModelSpec spec = ModelSpec.parse(ctx.config().config(), MODEL);
            List<ModelVersion> candidates = new ArrayList<>();
            for (Algorithm a : List.of(Algorithm.LOGISTIC_REGRESSION, Algorithm.GBT)) {
                ModelVersion v = stages.run("train " + a.text(), "Jan-Apr train, May validation -> ml.models",
                        () -> trainOrReuse(ctx, spec, a, trainingSet));
                ctx.out().println(TrainCommand.describe(v));
                candidates.add(v);
            }

            List<String> promotions = stages.run("promote", "the better candidate -> champion (gated), the other -> challenger",
                    () -> promote(ctx, candidates));
            promotions.forEach(ctx.out()::println);

            LocalDate juneFrom = LocalDate.of(2001, 6, 1);
            LocalDate juneTo = LocalDate.of(2001, 6, 30);
            List<ModelUri> scored = List.of(ModelUri.parse("models:/" + MODEL + "@champion"), ModelUri.parse("models:/" + MODEL + "@challenger"));
            BatchScorer.Scored predictions = stages.run("score", "June with champion and challenger -> ml.predictions",
                    () -> ctx.runJob("score " + scored.get(0) + " " + scored.get(1) + " " + juneFrom + ".." + juneTo,
                            runId -> new BatchScorer(lakehouse, FeatureSets.parse(ctx.config().config()), ctx::progress)
                                    .score(scored, juneFrom, juneTo, runId),
                            x -> new KilnContext.Rows(null, x.rowsPerModel().values().stream().mapToLong(Long::longValue).sum(), null)));
            ctx.out().println(predictions.summary());

            List<Evaluator.Metric> evaluation = stages.run("evaluate", "June champion predictions vs outcomes -> reports.evaluation",
                    () -> ctx.runJob("evaluate " + scored.get(0) + " " + juneFrom + ".." + juneTo,
                            runId -> new Evaluator(lakehouse, FeatureSets.parse(ctx.config().config()), ctx::progress)
                                    .evaluate(scored.get(0), juneFrom, juneTo, List.of("origin"), 3, runId),
                            x -> new KilnContext.Rows(x.isEmpty() ? null : x.get(0).rows(), (long) x.size(), null)));

            DriftWindow may = new DriftWindow(LocalDate.of(2001, 5, 1), LocalDate.of(2001, 5, 31));
            DriftWindow june = new DriftWindow(juneFrom, juneTo);
            DriftMonitor.Outcome drift = stages.run("drift", "May vs June -> reports.drift, reports.data_profile, reports.alerts",
                    () -> ctx.runJob("drift " + scored.get(0) + " " + june,
                            runId -> new DriftMonitor(lakehouse, FeatureSets.parse(ctx.config().config()), ctx::progress)
                                    .run(scored.get(0), Optional.of(may), june, DriftThresholds.parse(ctx.config().config(), MODEL),
                                            Optional.empty(), runId),
                            x -> new KilnContext.Rows(x.referenceRows() + x.currentRows(), (long) x.drift().size(), null)));

            Row stats = lakehouse.spark().sql("SELECT count(*) AS total_rows, count(DISTINCT flight_date) AS days,"
                    + " min(flight_date), max(flight_date) FROM " + flights.tableName().quoted()).first();
            long quarantined = lakehouse.read(flights.quarantineTableName()).count();
            ctx.out().println();
            ctx.out().println("Kiln demo summary");
            ctx.out().printf("  %-26s %6.1f s  %s%n", "ingest", stages.seconds("ingest"), ingest.alreadyCommitted()
                    ? "batch already committed: 0 rows added" : String.format("%,d rows read, %,d written, %,d quarantined",
                    ingest.rowsRead(), ingest.rowsWritten(), ingest.rowsQuarantined()));
            ctx.out().printf("  %-26s           raw.flights %,d rows in %d daily partitions (%s .. %s); raw.flights_quarantine %,d rows%n",
                    "", stats.getLong(0), stats.getLong(1), stats.get(2), stats.get(3), quarantined);
            ctx.out().printf("  %-26s %6.1f s  %s%n", "features", stages.seconds("features"), materialized.stream()
                    .map(v -> v.wroteNothing() ? v.featureSet() + " up to date" : String.format("%s %,d rows",
                            v.featureSet(), v.rowsWritten())).collect(java.util.stream.Collectors.joining(", ")));
            ctx.out().printf("  %-26s %6.1f s  %s%n", "training set", stages.seconds("training set"), trainingSet.summary());
            for (ModelVersion v : candidates) {
                ctx.out().printf("  %-26s %6.1f s  %s %s: %s %.4f, logLoss %.4f on May (validation)%n", "train " + v.algorithm(),
                        stages.seconds("train " + Algorithm.parse(v.algorithm(), spec.task(), "algorithm").text()), v.uri(), v.algorithm(),
                        v.metric(), v.metricValue(), v.metrics().getOrDefault("logLoss", Double.NaN));
            }
            ctx.out().printf("  %-26s %6.1f s  %s%n", "promote", stages.seconds("promote"), String.join("; ", promotions));
            ctx.out().printf("  %-26s %6.1f s  %s%n", "score", stages.seconds("score"), predictions.rowsPerModel().entrySet().stream()
                    .map(e -> String.format("%s %,d predictions", e.getKey(), e.getValue())).collect(java.util.stream.Collectors.joining(", ")));
            ctx.out().printf("  %-26s %6.1f s  June, champion: %s%n", "evaluate", stages.seconds("evaluate"), evaluation.stream()
                    .filter(m -> m.slice().equals("overall") && List.of("auc_roc", "auc_pr", "log_loss", "brier", "f1").contains(m.metric()))
                    .map(m -> String.format("%s %.4f", m.metric(), m.value())).collect(java.util.stream.Collectors.joining(", ")));
            ctx.out().printf("  %-26s %6.1f s  May vs June: %d of %d metrics over threshold%s%n", "drift", stages.seconds("drift"),
                    drift.breaches().size(), drift.drift().size(), drift.breaches().isEmpty() ? "" : ", flagged: " + drift.breaches().stream()
                            .map(d -> d.feature() + " (" + d.metric() + " " + String.format("%.2f", d.value()) + ")")
                            .collect(java.util.stream.Collectors.joining(", ")));
            ctx.out().printf("  %-26s %6.1f s%n", "total", stages.total());
            ctx.out().println("  lakehouse                  " + lakehouse.settings().root()
                    + " (tables under tables/, Derby metastore under _metastore/, models under models/)");
            ctx.out().println();
            ctx.out().println("Try:");
            ctx.out().println("  bin/kiln sql \"SELECT name, version, algorithm, metrics['areaUnderROC'] AS auc, training_set_id FROM ml.models ORDER BY version\"");
            ctx.out().println("  bin/kiln sql \"SELECT slice, metric, round(value, 4) AS value, row_count FROM reports.evaluation"
                    + " WHERE metric IN ('auc_roc', 'log_loss') ORDER BY slice, metric\"");
            ctx.out().println("  bin/kiln sql \"SELECT feature, round(value, 3) AS psi, status FROM reports.drift WHERE metric = 'psi'"
                    + " AND current_from = DATE'2001-06-01' ORDER BY value DESC LIMIT 8\"");
        }
        return ExitCodes.OK;
    }

    /** A model version trained from the same training set with the same spec and algorithm, or a new one. */
    static ModelVersion trainOrReuse(KilnContext ctx, ModelSpec spec, Algorithm algorithm, TrainingSet set) {
        ModelRegistry registry = new ModelRegistry(ctx.lakehouse());
        if (ctx.lakehouse().exists(ModelRegistry.MODELS)) {
            Row found = registry.list().filter(col("name").equalTo(spec.name()).and(col("training_set_id").equalTo(set.id()))
                    .and(col("config_hash").equalTo(spec.configHash(algorithm)))).agg(max("version")).first();
            if (!found.isNullAt(0)) {
                ModelVersion v = registry.get(spec.name(), found.getInt(0));
                ctx.progress(v.uri() + " was trained from training set " + set.id() + " with the same spec: reused");
                return v;
            }
        }
        return ctx.runJob("train " + spec.name() + " " + algorithm.text(),
                runId -> new Trainer(ctx.lakehouse(), ctx::progress).train(spec, algorithm, set, runId),
                v -> new KilnContext.Rows(v.metrics().get("n_train").longValue(), null, null));
    }

    /** The better candidate becomes champion through the gate; the other one challenger. */
    private static List<String> promote(KilnContext ctx, List<ModelVersion> candidates) {
        ModelRegistry registry = new ModelRegistry(ctx.lakehouse());
        List<ModelVersion> ranked = new ArrayList<>(candidates);
        boolean larger = ModelSpec.largerIsBetter(ranked.get(0).metric());
        ranked.sort(java.util.Comparator.comparingDouble(ModelVersion::metricValue));
        if (larger) {
            java.util.Collections.reverse(ranked);
        }
        ModelVersion best = ranked.get(0);
        String who = System.getProperty("user.name", "unknown") + " (kiln demo)";
        List<String> out = new ArrayList<>();
        ModelRegistry.Promotion p = ctx.runJob("models promote " + best.name() + " " + best.version() + " --alias champion",
                runId -> registry.promote(best.name(), best.version(), "champion", Optional.of("champion"), who), x -> KilnContext.Rows.NONE);
        if (!p.promoted() && registry.alias(best.name(), "champion").orElse(-1) == best.version()) {
            out.add("models:/" + best.name() + "@champion is already version " + best.version());
        } else {
            out.add(p.message());
        }
        for (ModelVersion other : ranked.subList(1, ranked.size())) {
            out.add(ctx.runJob("models promote " + other.name() + " " + other.version() + " --alias challenger",
                    runId -> registry.promote(other.name(), other.version(), "challenger", Optional.empty(), who),
                    x -> KilnContext.Rows.NONE).message());
        }
        return out;
    }

    /** Runs the demo's stages one after another, with progress and the time each took. */
    private static final class Stages {
        private static final int COUNT = 10;
        private final KilnContext ctx;
        private final java.util.Map<String, Double> seconds = new java.util.LinkedHashMap<>();

        Stages(KilnContext ctx) {
            this.ctx = ctx;
        }

        <T> T run(String name, String what, java.util.function.Supplier<T> body) {
            ctx.progress(String.format("stage %d/%d: %s: %s", seconds.size() + 1, COUNT, name, what));
            long start = System.nanoTime();
            T result = body.get();
            seconds.put(name, (System.nanoTime() - start) / 1e9);
            return result;
        }

        double seconds(String name) {
            return seconds.getOrDefault(name, Double.NaN);
        }

        double total() {
            return seconds.values().stream().mapToDouble(Double::doubleValue).sum();
        }
    }
}
