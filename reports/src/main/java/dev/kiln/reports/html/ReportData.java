package dev.kiln.reports.html;

import static org.apache.spark.sql.functions.col;

import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import dev.kiln.lakehouse.runlog.JobRunLog;
import dev.kiln.reports.Alerts;
import dev.kiln.reports.drift.DriftMonitor;
import dev.kiln.reports.estimate.PerformanceEstimator;
import dev.kiln.reports.evaluation.Evaluator;
import dev.kiln.training.registry.ModelRegistry;
import dev.kiln.training.registry.ModelVersion;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
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
        List<Row> curves,
        List<Row> estimates,
        Optional<String> driftRunId,
        List<Row> drift,
        List<Row> profile,
        List<Row> bins,
        List<Row> alerts,
        List<Row> runs) {

    /** The most alerts shown (newest first). */
    static final int ALERTS_SHOWN = 50;

    static ReportData read(Lakehouse lakehouse, ModelVersion m, LocalDate from, LocalDate to) {
        Column version = col("model_name").equalTo(m.name()).and(col("model_version").equalTo(m.version()));
        Column window = version.and(col("window_from").equalTo(java.sql.Date.valueOf(from)))
                .and(col("window_to").equalTo(java.sql.Date.valueOf(to)));
        List<Row> aliases = rows(lakehouse, ModelRegistry.ALIASES, col("name").equalTo(m.name()).and(col("version").equalTo(m.version())));
        List<Row> evaluation = rows(lakehouse, Evaluator.TABLE, window);
        List<Row> curves = rows(lakehouse, Evaluator.CURVES, window.and(col("slice").equalTo("overall")));
        List<Row> estimates = rows(lakehouse, PerformanceEstimator.TABLE, window.and(col("slice").equalTo("overall")));
        // The drift run over this window: the newest one whose current window is the report's.
        List<Row> drift = rows(lakehouse, DriftMonitor.DRIFT, version.and(col("current_from").equalTo(java.sql.Date.valueOf(from)))
                .and(col("current_to").equalTo(java.sql.Date.valueOf(to))));
        Optional<String> driftRun = drift.stream().max(Comparator.comparing((Row r) -> r.<java.sql.Timestamp>getAs("created_at")))
                .map(r -> r.<String>getAs("run_id"));
        drift = drift.stream().filter(r -> driftRun.isPresent() && driftRun.get().equals(r.getAs("run_id"))).toList();
        Column ofRun = col("run_id").equalTo(driftRun.orElse(""));
        List<Row> profile = driftRun.isEmpty() ? List.of() : rows(lakehouse, DriftMonitor.PROFILE, version.and(ofRun));
        List<Row> bins = driftRun.isEmpty() ? List.of() : rows(lakehouse, DriftMonitor.PROFILE_BINS, version.and(ofRun));
        List<Row> alerts = lakehouse.exists(Alerts.TABLE) ? lakehouse.read(Alerts.TABLE).where(version)
                .orderBy(col("created_at").desc()).limit(ALERTS_SHOWN).collectAsList() : List.of();
        Set<String> runIds = new LinkedHashSet<>();
        runIds.add(m.runId());
        for (List<Row> produced : List.of(evaluation, estimates, drift, alerts)) {
            produced.forEach(r -> runIds.add(r.getAs("run_id")));
        }
        List<Row> runs = lakehouse.exists(JobRunLog.TABLE) ? lakehouse.read(JobRunLog.TABLE)
                .where(col("run_id").isin(runIds.toArray())).orderBy(col("started_at")).collectAsList() : List.of();
        return new ReportData(m, from, to, aliases, evaluation, curves, estimates, driftRun, drift, profile, bins, alerts, runs);
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
