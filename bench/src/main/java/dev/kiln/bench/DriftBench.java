package dev.kiln.bench;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import dev.kiln.api.Kiln;
import dev.kiln.features.trainingset.TrainingSet;
import dev.kiln.features.trainingset.TrainingSetSpec;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Identifiers;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.reports.drift.DriftMonitor;
import dev.kiln.reports.drift.DriftStatistics;
import dev.kiln.reports.drift.DriftWindow;
import dev.kiln.training.LoadedModel;
import dev.kiln.training.ModelSignature;
import dev.kiln.training.registry.ModelVersion;
import java.util.ArrayList;
import java.util.Optional;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * {@code kiln bench drift}: Kiln's drift statistics over every input of a model plus its score, all columns in
 * one fixed set of Spark jobs, beside a one-job-per-feature implementation of the same statistics: for each
 * column, one Spark job collects its exact value counts per window, and the statistics are computed from them
 * on the driver. Written independently of Kiln's, so the first round also checks that both agree (1e-9).
 * Two inputs: (1) what {@code kiln drift} really reads, the events joined point in time to the feature tables
 * and scored by the model, not materialized (every per-feature job recomputes it, as a loop over features
 * would); Kiln's side is the whole drift run, report writes included. (2) The same rows materialized once into
 * a Delta table (not timed), where only the statistics differ. The reference window is the model's training
 * window (before train-until), the current window the rest of the training set's range.
 */
final class DriftBench {
    private DriftBench() {
    }

    static int run(BenchContext ctx, String modelUri, int rounds) {
        Kiln kiln = ctx.kiln();
        Lakehouse lakehouse = kiln.lakehouse();
        LoadedModel model = kiln.loadModel(modelUri);
        ModelVersion m = model.version();
        TrainingSet set = kiln.trainingSetById(m.trainingSetId());
        ModelSignature inputs = model.signature();
        List<String> numeric = new ArrayList<>(inputs.observedNumericInputs());
        numeric.add(DriftMonitor.SCORE);
        List<Column> cols = new ArrayList<>(List.of(col(Identifiers.quote(set.eventTime()))));
        inputs.observedNumericInputs().forEach(c -> cols.add(col(Identifiers.quote(c))));
        inputs.categoricalInputs().forEach(c -> cols.add(col(Identifiers.quote(c))));
        cols.add(inputs.score().as(DriftMonitor.SCORE));
        String path = lakehouse.settings().root() + "/bench/drift_input";
        ctx.progress("bench drift: scoring training set " + set.id() + " with " + m.uri() + " into " + path + " (not timed)");
        model.transform(kiln.rows(set), "training set " + set.id()).select(cols.toArray(Column[]::new)).write().format("delta")
                .mode("overwrite").option("overwriteSchema", "true").save(path);
        Dataset<Row> data = lakehouse.spark().read().format("delta").load(path);
        if (m.trainUntil() == null) {
            throw new KilnException(m.uri() + " has no train-until to split the windows at");
        }
        Column t = col(Identifiers.quote(set.eventTime()));
        Dataset<Row> reference = data.filter(t.lt(lit(m.trainUntil())));
        Dataset<Row> current = data.filter(t.geq(lit(m.trainUntil())));
        int columns = numeric.size() + inputs.categoricalInputs().size();
        BenchCommand.Timing[] live = live(ctx, model, data, t, numeric, inputs.categoricalInputs());
        List<BenchCommand.Timing> allColumns = new ArrayList<>();
        List<BenchCommand.Timing> perFeature = new ArrayList<>();
        for (int round = 0; round <= rounds; round++) {
            DriftStatistics.Result[] all = new DriftStatistics.Result[1];
            List<DriftStatistics.Metric> one = new ArrayList<>();
            Runnable together = () -> all[0] = DriftStatistics.compute(reference, current, numeric, inputs.categoricalInputs());
            Runnable separately = () -> {
                one.clear();
                for (String c : numeric) {
                    one.addAll(PerFeatureDrift.numeric(reference, current, c));
                }
                for (String c : inputs.categoricalInputs()) {
                    one.addAll(PerFeatureDrift.categorical(reference, current, c));
                }
            };
            // Alternate which goes first, so that neither always runs on a warmer JVM and cache.
            BenchCommand.Timing k;
            BenchCommand.Timing p;
            if (round % 2 == 0) {
                k = BenchCommand.Timing.of(together);
                p = BenchCommand.Timing.of(separately);
            } else {
                p = BenchCommand.Timing.of(separately);
                k = BenchCommand.Timing.of(together);
            }
            if (round == 0) {
                check(all[0].drift(), one);
                ctx.progress(String.format("bench drift: %,d reference rows, %,d current rows, %d columns; per-feature values"
                        + " equal Kiln's", all[0].referenceRows(), all[0].currentRows(), columns));
            }
            ctx.progress(String.format("%s: kiln drift (all columns) %s, one feature at a time %s",
                    round == 0 ? "warm-up" : "round " + round + "/" + rounds, k, p));
            if (round > 0) {
                allColumns.add(k);
                perFeature.add(p);
            }
        }
        BenchCommand.Timing km = BenchCommand.Timing.median(allColumns);
        BenchCommand.Timing pm = BenchCommand.Timing.median(perFeature);
        ctx.out().println();
        ctx.out().printf("bench drift: %d columns of %s (%d inputs + score)%n", columns, m.uri(), columns - 1);
        ctx.out().println("  (1) from the feature tables, as kiln drift runs (point-in-time join and scoring per pass), one run:");
        ctx.out().printf("      one job per feature          %s%n", live[1]);
        ctx.out().printf("      kiln drift run, all columns  %s%n", live[0]);
        ctx.out().printf("      kiln / per-feature  %5.2fx wall, %5.2fx CPU (target <= 0.33x)%n", live[0].wall() / live[1].wall(),
                live[0].cpu() / live[1].cpu());
        ctx.out().printf("  (2) over the same rows materialized in a Delta table, median of %d rounds:%n", rounds);
        ctx.out().printf("      one job per feature          %s%n", pm);
        ctx.out().printf("      kiln drift, all columns      %s%n", km);
        ctx.out().printf("      kiln / per-feature  %5.2fx wall, %5.2fx CPU%n", km.wall() / pm.wall(), km.cpu() / pm.cpu());
        return 0;
    }

    /** Input (1): Kiln's drift run against the per-feature loop over the same unmaterialized rows. */
    private static BenchCommand.Timing[] live(BenchContext ctx, LoadedModel model, Dataset<Row> data, Column t, List<String> numeric,
            List<String> categorical) {
        ModelVersion m = model.version();
        Row range = data.agg(org.apache.spark.sql.functions.min(t), org.apache.spark.sql.functions.max(t)).first();
        java.time.LocalDate first = java.time.LocalDate.parse(range.get(0).toString().substring(0, 10));
        java.time.LocalDate last = java.time.LocalDate.parse(range.get(1).toString().substring(0, 10));
        java.time.LocalDate split = m.trainUntil().toLocalDate();
        DriftWindow ref = new DriftWindow(first, split.minusDays(1));
        DriftWindow cur = new DriftWindow(split, last);
        Kiln kiln = ctx.kiln();
        // Untimed warm-up on one day per window: the same code paths (code generation, JIT) for both sides.
        DriftWindow refDay = new DriftWindow(split.minusDays(1), split.minusDays(1));
        DriftWindow curDay = new DriftWindow(split, split);
        ctx.progress("bench drift (1): warm-up on " + refDay + " vs " + curDay + " (not timed)");
        kiln.drift(m.uri(), Optional.of(refDay), curDay, Optional.empty());
        PerFeatureDrift.numeric(inputsAndScore(kiln, model, refDay), inputsAndScore(kiln, model, curDay), DriftMonitor.SCORE);
        ctx.progress("bench drift (1): reference " + ref + ", current " + cur + ", each computed from the feature tables");
        BenchCommand.Timing timed = BenchCommand.Timing.of(() -> kiln.drift(m.uri(), Optional.of(ref), cur, Optional.empty()));
        Dataset<Row> reference = inputsAndScore(kiln, model, ref);
        Dataset<Row> current = inputsAndScore(kiln, model, cur);
        BenchCommand.Timing perFeature = BenchCommand.Timing.of(() -> {
            for (String c : numeric) {
                PerFeatureDrift.numeric(reference, current, c);
            }
            for (String c : categorical) {
                PerFeatureDrift.categorical(reference, current, c);
            }
        });
        ctx.progress("bench drift (1): kiln drift run " + timed + ", one job per feature " + perFeature);
        return new BenchCommand.Timing[] {timed, perFeature};
    }

    /**
     * What a hand-written drift job would compare for one window, through Kiln's public API: the training set's events of
     * the window, their features point in time, and the model's score.
     */
    private static Dataset<Row> inputsAndScore(Kiln kiln, LoadedModel model, DriftWindow w) {
        ModelVersion m = model.version();
        TrainingSetSpec spec = kiln.trainingSetSpec(m.trainingSetId());
        Dataset<Row> events = kiln.spark().sql(spec.eventsSql());
        if (spec.where().isPresent()) {
            events = events.filter(org.apache.spark.sql.functions.expr(spec.where().get()));
        }
        Column t = events.col(Identifiers.quote(spec.eventTime()));
        events = events.filter(t.geq(lit(w.start())).and(t.lt(lit(w.end()))));
        Dataset<Row> rows = kiln.historicalFeatures(events, spec.eventTime(), m.featureRefs());
        ModelSignature s = model.signature();
        List<Column> out = new ArrayList<>();
        s.observedNumericInputs().forEach(c -> out.add(col(Identifiers.quote(c))));
        s.categoricalInputs().forEach(c -> out.add(col(Identifiers.quote(c))));
        out.add(s.score().as(DriftMonitor.SCORE));
        return model.transform(rows, "window " + w).select(out.toArray(Column[]::new));
    }

    /** The two computations must agree, or the timing compares different work. */
    private static void check(List<DriftStatistics.Metric> together, List<DriftStatistics.Metric> separately) {
        for (DriftStatistics.Metric a : together) {
            DriftStatistics.Metric b = separately.stream().filter(x -> x.column().equals(a.column()) && x.metric().equals(a.metric()))
                    .findFirst().orElseThrow(() -> new KilnException("bench drift: no per-feature " + a.metric() + " of " + a.column()));
            boolean same = a.value() == null ? b.value() == null
                    : b.value() != null && Math.abs(a.value() - b.value()) <= 1e-9 * Math.max(1, Math.abs(a.value()));
            if (!same) {
                throw new KilnException("bench drift: " + a.metric() + " of " + a.column() + " differs: " + a.value() + " vs " + b.value());
            }
        }
    }
}
