package dev.kiln.reports.html;

import static org.apache.spark.sql.functions.col;

import dev.kiln.lakehouse.SideBySide;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import dev.kiln.lakehouse.runlog.JobRunLog;
import dev.kiln.reports.Alerts;
import dev.kiln.reports.drift.DriftMonitor;
import dev.kiln.reports.estimate.PerformanceEstimator;
import dev.kiln.features.definition.FeatureSets;
import dev.kiln.reports.evaluation.CurvePoint;
import dev.kiln.reports.evaluation.Evaluator;
import dev.kiln.training.spec.Task;
import dev.kiln.training.registry.ModelRegistry;
import dev.kiln.training.registry.ModelVersion;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * What a report shows, read from Kiln's tables alone (so a report can be rebuilt for any past run): the model
 * version and its aliases, the window's evaluation, curves and estimates, the drift run whose current window is
 * the report's window (its metrics, profiles and histograms), the version's alerts and the job runs behind the
 * numbers. Every read is of small report rows, filtered by model version and window before they are collected.
 */
record ReportData(
        ModelVersion model,
        LocalDate from,
        LocalDate to,
        List<Row> aliases,
        List<Row> evaluation,
        List<CurvePoint> curves,
        boolean curvesComputed,
        List<Row> estimates,
        Optional<String> driftRunId,
        List<Row> drift,
        List<Row> profile,
        List<Row> bins,
        List<Row> alerts,
        List<Row> runs) {

    /** The most alerts shown (newest first). */
    static final int ALERTS_SHOWN = 50;
    /** Tables read at once. */
    private static final int READERS = 3;

    static ReportData read(Lakehouse lakehouse, FeatureSets sets, ModelVersion m, LocalDate from, LocalDate to) {
        Column version = col("model_name").equalTo(m.name()).and(col("model_version").equalTo(m.version()));
        Column window = version.and(col("window_from").equalTo(java.sql.Date.valueOf(from)))
                .and(col("window_to").equalTo(java.sql.Date.valueOf(to)));
        // Small reads of many tables: most of their time is each table's snapshot and a job's start, on the
        // driver, so they run side by side. First what the version and window select, then what those name.
        List<Supplier<List<Row>>> first = List.of(
                () -> rows(lakehouse, ModelRegistry.ALIASES, col("name").equalTo(m.name()).and(col("version").equalTo(m.version()))),
                () -> rows(lakehouse, Evaluator.TABLE, window),
                () -> rows(lakehouse, Evaluator.CURVES, window.and(col("slice").equalTo("overall"))),
                () -> rows(lakehouse, PerformanceEstimator.TABLE, window.and(col("slice").equalTo("overall"))),
                () -> rows(lakehouse, DriftMonitor.DRIFT, version.and(col("current_from").equalTo(java.sql.Date.valueOf(from)))
                        .and(col("current_to").equalTo(java.sql.Date.valueOf(to)))),
                () -> lakehouse.exists(Alerts.TABLE) ? lakehouse.read(Alerts.TABLE).where(version)
                        .orderBy(col("created_at").desc()).limit(ALERTS_SHOWN).collectAsList() : List.of());
        List<List<Row>> got = SideBySide.run(first, READERS, Supplier::get);
        List<Row> evaluation = got.get(1);
        List<Row> estimates = got.get(3);
        List<Row> alerts = got.get(5);
        // The drift run over this window: the newest one whose current window is the report's.
        Optional<String> driftRun = got.get(4).stream().max(Comparator.comparing((Row r) -> dev.kiln.lakehouse.EventTime.instant(r.getAs("created_at"))))
                .map(r -> r.<String>getAs("run_id"));
        List<Row> drift = got.get(4).stream().filter(r -> driftRun.isPresent() && driftRun.get().equals(r.getAs("run_id"))).toList();
        Set<String> runIds = new LinkedHashSet<>();
        runIds.add(m.runId());
        for (List<Row> produced : List.of(evaluation, estimates, drift, alerts)) {
            produced.forEach(r -> runIds.add(r.getAs("run_id")));
        }
        Column ofRun = version.and(col("run_id").equalTo(driftRun.orElse("")));
        List<Supplier<List<Row>>> second = List.of(
                () -> driftRun.isEmpty() ? List.of() : rows(lakehouse, DriftMonitor.PROFILE, ofRun),
                () -> driftRun.isEmpty() ? List.of() : rows(lakehouse, DriftMonitor.PROFILE_BINS, ofRun),
                () -> lakehouse.exists(JobRunLog.TABLE) ? lakehouse.read(JobRunLog.TABLE).where(col("run_id").isin(runIds.toArray()))
                        .orderBy(col("started_at")).collectAsList() : List.of());
        List<List<Row>> named = SideBySide.run(second, READERS, Supplier::get);
        // Curves of an evaluation older than reports.evaluation_curves: measured again, by the same definitions.
        List<CurvePoint> curves = got.get(2).stream().sorted(Comparator.comparing((Row r) -> r.<Long>getAs("point")))
                .map(r -> new CurvePoint(r.getAs("slice"), r.getAs("point"), r.getAs("threshold"), r.getAs("true_positives"),
                        r.getAs("false_positives"), r.<Long>getAs("true_positives") + r.<Long>getAs("false_negatives"),
                        r.<Long>getAs("false_positives") + r.<Long>getAs("true_negatives"))).toList();
        boolean computed = false;
        if (curves.isEmpty() && !evaluation.isEmpty() && m.taskType() == Task.BINARY_CLASSIFICATION) {
            curves = new Evaluator(lakehouse, sets, x -> { }).measure(m, from, to, List.of(), 0).curves().stream()
                    .filter(c -> c.slice().equals("overall")).toList();
            computed = true;
        }
        return new ReportData(m, from, to, got.get(0), evaluation, curves, computed, estimates, driftRun, drift, named.get(0),
                named.get(1), alerts, named.get(2));
    }

    private static List<Row> rows(Lakehouse lakehouse, TableName table, Column where) {
        if (!lakehouse.exists(table)) {
            return List.of();
        }
        Dataset<Row> rows = lakehouse.read(table).where(where);
        return new ArrayList<>(rows.collectAsList());
    }

    /** The value of an evaluation metric of a slice, if measured. */
    Optional<Double> metric(String slice, String metric) {
        return evaluation.stream().filter(r -> slice.equals(r.getAs("slice")) && metric.equals(r.getAs("metric")))
                .map(r -> r.<Double>getAs("value")).filter(v -> v != null && !v.isNaN()).findFirst();
    }

    /** Rows of the overall slice (the slice's size is each metric row's row_count). */
    Optional<Long> overallRows() {
        return evaluation.stream().filter(r -> "overall".equals(r.getAs("slice"))).map(r -> r.<Long>getAs("row_count")).findFirst();
    }
}
