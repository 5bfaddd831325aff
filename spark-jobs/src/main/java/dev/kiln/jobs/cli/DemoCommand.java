package dev.kiln.jobs.cli;

import static org.apache.spark.sql.functions.col;

import dev.kiln.api.Kiln;
import dev.kiln.api.ReferencePipeline;
import dev.kiln.features.materialize.MaterializedVersion;
import dev.kiln.features.trainingset.TrainingSet;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.ingest.DatasetSpec;
import dev.kiln.lakehouse.ingest.IngestResult;
import dev.kiln.reports.drift.DriftOutcome;
import dev.kiln.reports.estimate.PerformanceEstimator;
import dev.kiln.reports.html.ModelReport;
import dev.kiln.scoring.ScoringResult;
import dev.kiln.training.registry.ModelVersion;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;
import java.util.stream.Collectors;
import org.apache.spark.sql.Row;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

@Command(name = "demo", mixinStandardHelpOptions = true, description = {
        "Run the reference pipeline (demo in conf/pipelines/flights.conf) end to end on the configured lakehouse: ingest flights-3m (Jan-Jun 2001)",
        "into raw.flights, materialize its feature sets, build the point-in-time training set, train logistic",
        "regression and GBT (Jan-Apr train, May validation), promote the better to champion through the gate (the",
        "other becomes challenger), score June with both, estimate the champion's June performance from its scores",
        "alone, evaluate June against the outcomes, measure drift May vs June, and write the champion's HTML report of June.",
        "Re-running reuses what is already there (batches, feature periods, training set, model versions trained",
        "from the same set and config) and replaces June's predictions and reports.",
        "bin/kiln demo fetches the data first (scripts/fetch-flights.sh)."})
final class DemoCommand implements Callable<Integer> {
    @ParentCommand
    KilnCommand parent;

    @Mixin
    GlobalOptions global;

    @Override
    public Integer call() {
        try (KilnContext ctx = parent.open(global)) {
            ReferencePipeline.Plan plan = ReferencePipeline.Plan.parse(ctx.config().config());
            DatasetSpec data = ctx.config().dataset(plan.dataset());
            if (!data.path().contains("*") && !data.path().contains("://") && !Files.exists(Path.of(data.path()))) {
                throw new KilnException(plan.dataset() + " data not found at " + data.path()
                        + "; run scripts/fetch-flights.sh (bin/kiln demo does this itself) or set KILN_DATA_DIR");
            }
            Kiln kiln = ctx.kiln();
            Map<String, Double> seconds = new LinkedHashMap<>();
            List<String> names = plan.stageNames();
            ReferencePipeline.Result r = new ReferencePipeline(kiln).run(plan, new ReferencePipeline.Stages() {
                @Override
                public <T> T run(String name, String what, Supplier<T> body, ToLongFunction<T> rows) {
                    ctx.progress(String.format("stage %d/%d: %s: %s", seconds.size() + 1, names.size(), name, what));
                    long start = System.nanoTime();
                    T result = body.get();
                    seconds.put(name, (System.nanoTime() - start) / 1e9);
                    print(ctx, result);
                    return result;
                }
            });
            summary(ctx, kiln, plan, data, r, seconds);
        }
        return ExitCodes.OK;
    }

    /** What a stage returned, as the stage's own summary line(s). */
    private static void print(KilnContext ctx, Object result) {
        if (result instanceof IngestResult i) {
            ctx.out().println(i.summary());
        } else if (result instanceof TrainingSet t) {
            ctx.out().println(t.summary());
        } else if (result instanceof ModelVersion v) {
            ctx.out().println(v.describe());
        } else if (result instanceof ScoringResult s) {
            ctx.out().println(s.summary());
        } else if (result instanceof ModelReport.Written w) {
            ctx.out().println(w.summary());
        } else if (result instanceof PerformanceEstimator.Outcome o) {
            o.metrics().stream().filter(m -> m.slice().equals("overall")).forEach(m -> ctx.out().printf(
                    "  estimated %-10s %s (95%% band %s)%n", m.metric(), show(m.estimate()),
                    m.lower() == null ? "n/a" : show(m.lower()) + " .. " + show(m.upper())));
        } else if (result instanceof List<?> l) {
            l.forEach(x -> {
                if (x instanceof MaterializedVersion m) {
                    ctx.out().println(m.summary());
                } else if (x instanceof String line) {
                    ctx.out().println(line);
                }
            });
        }
    }

    private static void summary(KilnContext ctx, Kiln kiln, ReferencePipeline.Plan plan, DatasetSpec data,
            ReferencePipeline.Result r, Map<String, Double> seconds) {
        IngestResult ingest = r.ingest();
        Row stats = kiln.spark().sql("SELECT count(*) AS total_rows, count(DISTINCT flight_date) AS days,"
                + " min(flight_date), max(flight_date) FROM " + data.tableName().quoted()).first();
        long quarantined = kiln.lakehouse().read(data.quarantineTableName()).count();
        PrintStream out = ctx.out();
        out.println();
        out.println("Kiln demo summary");
        out.printf("  %-26s %6.1f s  %s%n", "ingest", seconds.get("ingest"), ingest.alreadyCommitted()
                ? "batch already committed: 0 rows added" : String.format("%,d rows read, %,d written, %,d quarantined",
                ingest.rowsRead(), ingest.rowsWritten(), ingest.rowsQuarantined()));
        out.printf("  %-26s           %s %,d rows in %d daily partitions (%s .. %s); %s %,d rows%n", "", data.tableName(),
                stats.getLong(0), stats.getLong(1), stats.get(2), stats.get(3), data.quarantineTableName(), quarantined);
        out.printf("  %-26s %6.1f s  %s%n", "features", seconds.get("features"), r.features().stream()
                .map(v -> v.wroteNothing() ? v.featureSet() + " up to date" : String.format("%s %,d rows",
                        v.featureSet(), v.rowsWritten())).collect(Collectors.joining(", ")));
        out.printf("  %-26s %6.1f s  %s%n", "training set", seconds.get("training set"), r.trainingSet().summary());
        List<String> names = plan.stageNames();
        for (int i = 0; i < r.candidates().size(); i++) {
            ModelVersion v = r.candidates().get(i);
            out.printf("  %-26s %6.1f s  %s %s: %s %.4f, logLoss %.4f on the validation window%n", names.get(3 + i),
                    seconds.get(names.get(3 + i)), v.uri(), v.algorithm(), v.metric(), v.metricValue(),
                    v.metrics().getOrDefault("logLoss", Double.NaN));
        }
        out.printf("  %-26s %6.1f s  %s%n", "promote", seconds.get("promote"), String.join("; ", r.promotions()));
        out.printf("  %-26s %6.1f s  %s%n", "score", seconds.get("score"), r.predictions().rowsPerModel().entrySet().stream()
                .map(e -> String.format("%s %,d predictions", e.getKey(), e.getValue())).collect(Collectors.joining(", ")));
        r.estimate().ifPresent(e -> {
            // Read back after evaluate, which kept the realized values beside the estimates.
            Map<String, Row> rows = new LinkedHashMap<>();
            kiln.performanceEstimates().filter(col("model_name").equalTo(e.model().name())
                    .and(col("model_version").equalTo(e.model().version())).and(col("run_id").equalTo(e.runId()))
                    .and(col("slice").equalTo("overall"))).collectAsList().forEach(x -> rows.put(x.getAs("metric"), x));
            out.printf("  %-26s %6.1f s  %s, champion, estimated without outcomes -> realized: %s%n", "estimate",
                    seconds.get("estimate"), plan.scoreWindow(), List.of("auc_roc", "f1", "precision", "recall", "accuracy").stream()
                            .filter(rows::containsKey).map(metric -> String.format("%s %s [%s .. %s] -> %s", metric,
                                    show(rows.get(metric).getAs("estimate")), show(rows.get(metric).getAs("lower")),
                                    show(rows.get(metric).getAs("upper")), show(rows.get(metric).getAs("realized"))))
                            .collect(Collectors.joining(", ")));
        });
        out.printf("  %-26s %6.1f s  %s, champion: %s%n", "evaluate", seconds.get("evaluate"), plan.scoreWindow(),
                r.evaluation().stream().filter(m -> m.slice().equals("overall")
                        && List.of("auc_roc", "auc_pr", "log_loss", "brier", "f1").contains(m.metric()))
                        .map(m -> String.format("%s %.4f", m.metric(), m.value())).collect(Collectors.joining(", ")));
        DriftOutcome drift = r.drift();
        out.printf("  %-26s %6.1f s  %s vs %s: %d of %d metrics over threshold%s%n", "drift", seconds.get("drift"),
                plan.driftReference(), plan.scoreWindow(), drift.breaches().size(), drift.drift().size(),
                drift.breaches().isEmpty() ? "" : ", flagged: " + drift.breaches().stream()
                        .map(d -> d.feature() + " (" + d.metric() + " " + String.format("%.2f", d.value()) + ")")
                        .collect(Collectors.joining(", ")));
        r.report().ifPresent(w -> out.printf("  %-26s %6.1f s  %s (%,d bytes, %d charts)%n", "report", seconds.get("report"),
                w.path(), w.bytes(), w.charts().size()));
        out.printf("  %-26s %6.1f s%n", "total", seconds.values().stream().mapToDouble(Double::doubleValue).sum());
        out.println("  lakehouse                  " + kiln.lakehouse().settings().root()
                + " (tables under tables/, Derby metastore under _metastore/, models under models/)");
        out.println();
        out.println("Try:");
        r.report().ifPresent(w -> out.println("  open " + w.path() + " in a browser (no network needed)"));
        out.println("  bin/kiln sql \"SELECT name, version, algorithm, metrics['areaUnderROC'] AS auc, training_set_id FROM ml.models ORDER BY version\"");
        out.println("  bin/kiln sql \"SELECT slice, metric, round(value, 4) AS value, row_count FROM reports.evaluation"
                + " WHERE metric IN ('auc_roc', 'log_loss') ORDER BY slice, metric\"");
        out.println("  bin/kiln sql \"SELECT feature, round(value, 3) AS psi, status FROM reports.drift WHERE metric = 'psi'"
                + " AND current_from = DATE'" + plan.scoreFrom() + "' ORDER BY value DESC LIMIT 8\"");
    }

    private static String show(Double v) {
        return v == null ? "n/a" : String.format("%.4f", v);
    }
}
