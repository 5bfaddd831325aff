package dev.kiln.reports.html;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.reports.html.Charts.Chart;
import dev.kiln.training.decision.Decision;
import dev.kiln.training.registry.ModelVersion;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.spark.sql.Row;

/**
 * One self-contained HTML page from a {@link ReportData}: model card, evaluation (curves with the decision
 * threshold, calibration, slices, estimated vs realized), drift (metrics with breaches first, histograms and top
 * values of each input, the score's distribution), alerts and job runs. The chart libraries and every spec are
 * inline; a Content-Security-Policy forbids the page any request, so it shows the same with networking off.
 */
final class ReportPage {
    /** Slice metrics shown in the sortable table, in order. */
    private static final List<String> SLICE_METRICS = List.of("auc_roc", "auc_pr", "log_loss", "brier", "precision", "recall",
            "f1", "accuracy", "positive_rate");

    private final ReportData d;
    private final List<Chart> charts = new ArrayList<>();
    private final StringBuilder html = new StringBuilder();

    private ReportPage(ReportData d) {
        this.d = d;
    }

    /** The page, and the charts it embeds (for tests and the report's summary). */
    record Page(String html, List<Chart> charts) {}

    static Page render(ReportData d, Vendor vendor, Instant now) {
        ReportPage p = new ReportPage(d);
        p.write(vendor, now);
        return new Page(p.html.toString(), List.copyOf(p.charts));
    }

    private void write(Vendor vendor, Instant now) {
        ModelVersion m = d.model();
        String title = "Kiln report: " + m.uri() + ", " + d.from() + " .. " + d.to();
        html.append("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n")
                .append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'"
                        + " 'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:\">\n")
                .append("<title>").append(esc(title)).append("</title>\n<style>").append(STYLE).append("</style>\n</head><body>\n")
                .append("<h1>").append(esc(title)).append("</h1>\n");
        headline();
        modelCard();
        evaluation();
        drift();
        alerts();
        runs();
        html.append("<footer>Written ").append(esc(now.toString())).append(" by kiln report from Kiln's tables (ml.models,"
                + " ml.model_aliases, reports.evaluation, reports.evaluation_curves, reports.performance_estimate,"
                + " reports.drift, reports.data_profile, reports.data_profile_bins, reports.alerts, ops.job_runs). Charts:"
                + " ").append(esc(vendor.versions())).append(" (BSD-3-Clause), inlined.</footer>\n");
        for (String script : vendor.scripts()) {
            html.append("<script>").append(script).append("</script>\n");
        }
        html.append("<script>\nconst KILN_SPECS = ").append(specs()).append(";\n").append(EMBED).append("</script>\n</body></html>\n");
    }

    // ---------------------------------------------------------------- sections

    private void headline() {
        html.append("<section id=\"headline\"><h2>At a glance</h2><div class=\"cards\">\n");
        card("AUC ROC", "auc_roc", d.metric("overall", "auc_roc"), "");
        card("Log loss", "log_loss", d.metric("overall", "log_loss"), "");
        Optional<Decision> decision = d.model().decision();
        card("Decision threshold", "threshold", decision.map(Decision::threshold),
                decision.map(x -> x.policy() + " on the validation window").orElse("none stored"));
        Optional<Row> topPsi = d.drift().stream().filter(r -> "psi".equals(r.getAs("metric")) && r.getAs("value") != null)
                .max(Comparator.comparing((Row r) -> "breach".equals(r.getAs("status")))
                        .thenComparing(r -> r.<Double>getAs("value")));
        card(topPsi.map(r -> "breach".equals(r.getAs("status")) ? "PSI of the top flagged input" : "Largest PSI (none flagged)")
                        .orElse("PSI"), "psi", topPsi.map(r -> r.<Double>getAs("value")),
                topPsi.map(r -> r.<String>getAs("feature")).orElse("no drift run for this window"));
        html.append("<div class=\"card\"><div class=\"label\">Events evaluated</div><div class=\"big\">")
                .append(d.overallRows().map(n -> String.format(Locale.ROOT, "%,d", n)).orElse("n/a")).append("</div></div>\n");
        html.append("</div></section>\n");
    }

    private void card(String label, String metric, Optional<Double> value, String note) {
        html.append("<div class=\"card\"><div class=\"label\">").append(esc(label)).append("</div><div class=\"big\">")
                .append(value.map(v -> number(metric, v)).orElse("n/a")).append("</div>");
        if (!note.isEmpty()) {
            html.append("<div class=\"note\">").append(esc(note)).append("</div>");
        }
        html.append("</div>\n");
    }

    private void modelCard() {
        ModelVersion m = d.model();
        html.append("<section id=\"model\"><h2>Model card</h2><table class=\"kv\">\n");
        kv("Version", m.uri());
        kv("Task, algorithm", m.task() + ", " + m.algorithm());
        kv("Params", new TreeMap<>(m.params()).toString());
        kv("Decision", m.task().equals("regression") ? "n/a" : m.decisionRule().describe());
        kv("Training set", m.trainingSetId());
        kv("Inputs (Delta versions)", new TreeMap<>(m.inputs()).toString());
        kv("Feature set versions", String.join(", ", m.featureRefs()));
        kv("Train until / validate until", m.trainUntil() + " / " + m.validateUntil());
        kv("Validation metrics", new TreeMap<>(m.metrics()).entrySet().stream()
                .map(e -> e.getKey() + " " + fmt(e.getValue())).collect(Collectors.joining(", ")));
        kv("Registered", m.createdAt() + " by run " + m.runId());
        kv("Aliases", d.aliases().isEmpty() ? "none" : d.aliases().stream().map(r -> r.getAs("alias") + " (set by "
                + r.getAs("set_by") + " at " + r.getAs("set_at") + ")").collect(Collectors.joining("; ")));
        kv("Artifact", m.artifactPath());
        html.append("</table></section>\n");
    }

    private void evaluation() {
        html.append("<section id=\"evaluation\"><h2>Evaluation, ").append(esc(d.from() + " .. " + d.to())).append("</h2>\n");
        if (d.evaluation().isEmpty()) {
            html.append("<p class=\"missing\">No evaluation of this version for this window: run <code>kiln evaluate --model ")
                    .append(esc(d.model().uri())).append(" --from ").append(d.from()).append(" --to ").append(d.to())
                    .append("</code> once the outcomes exist.</p>\n");
        } else {
            html.append("<div class=\"charts\">\n");
            Optional<Charts.XY> rocPoint = operatingPoint(true);
            Optional<Charts.XY> prPoint = operatingPoint(false);
            if (!d.curves().isEmpty()) {
                String note = d.curvesComputed() ? " (measured for this report: the evaluation predates reports.evaluation_curves)" : "";
                chart("roc", "ROC curve (overall), decision threshold marked" + note, Charts.roc(d.curves().stream()
                        .map(c -> new Charts.XY(c.falsePositiveRate(), c.recall(), c.threshold())).toList(), rocPoint.orElse(null)));
                chart("pr", "Precision-recall curve (overall), decision threshold marked" + note, Charts.precisionRecall(d.curves()
                        .stream().map(c -> new Charts.XY(c.recall(), c.precision(), c.threshold())).toList(), prPoint.orElse(null)));
            }
            List<Charts.CalibrationBin> calibration = calibration();
            if (!calibration.isEmpty()) {
                chart("calibration", "Calibration (overall): ten score bins", Charts.calibration(calibration));
            }
            Map<String, Double> aucBySlice = new LinkedHashMap<>();
            slices().forEach(s -> d.metric(s, "auc_roc").or(() -> d.metric(s, "rmse")).ifPresent(v -> aucBySlice.put(s, v)));
            if (aucBySlice.size() > 1) {
                chart("slices", "AUC ROC per slice", Charts.sliceBars(aucBySlice, "AUC ROC"));
            }
            html.append("</div>\n");
            sliceTable();
        }
        estimates();
        html.append("</section>\n");
    }

    /** The decision threshold's point on the ROC (x FPR, y recall) or PR (x recall, y precision) curve, from the window's metrics. */
    private Optional<Charts.XY> operatingPoint(boolean roc) {
        Optional<Double> precision = d.metric("overall", "precision");
        Optional<Double> recall = d.metric("overall", "recall");
        Optional<Double> rate = d.metric("overall", "positive_rate");
        Optional<Double> threshold = d.metric("overall", "threshold");
        if (precision.isEmpty() || recall.isEmpty() || rate.isEmpty() || threshold.isEmpty()) {
            return Optional.empty();
        }
        if (!roc) {
            return Optional.of(new Charts.XY(recall.get(), precision.get(), threshold.get()));
        }
        double p = rate.get();
        double fpr = p >= 1 ? 0 : recall.get() * p * (1 / precision.get() - 1) / (1 - p);
        return Optional.of(new Charts.XY(fpr, recall.get(), threshold.get()));
    }

    private List<Charts.CalibrationBin> calibration() {
        List<Charts.CalibrationBin> out = new ArrayList<>();
        for (int b = 0; b < 10; b++) {
            String name = String.format(Locale.ROOT, "calibration_%.1f_%.1f", b / 10.0, (b + 1) / 10.0);
            Optional<Row> predicted = row("overall", name + "_predicted");
            Optional<Row> observed = row("overall", name + "_observed");
            if (predicted.isPresent() && observed.isPresent() && predicted.get().getAs("value") != null) {
                out.add(new Charts.CalibrationBin(String.format(Locale.ROOT, "%.1f-%.1f", b / 10.0, (b + 1) / 10.0),
                        predicted.get().getAs("value"), observed.get().getAs("value"), predicted.get().getAs("row_count")));
            }
        }
        return out;
    }

    private Optional<Row> row(String slice, String metric) {
        return d.evaluation().stream().filter(r -> slice.equals(r.getAs("slice")) && metric.equals(r.getAs("metric"))).findFirst();
    }

    private List<String> slices() {
        return d.evaluation().stream().map(r -> r.<String>getAs("slice")).distinct()
                .sorted(Comparator.comparing((String s) -> !s.equals("overall")).thenComparing(s -> s)).toList();
    }

    private void sliceTable() {
        List<String> metrics = SLICE_METRICS.stream().filter(x -> d.evaluation().stream().anyMatch(r -> x.equals(r.getAs("metric"))))
                .toList();
        if (metrics.isEmpty()) {
            metrics = d.evaluation().stream().map(r -> r.<String>getAs("metric")).filter(x -> !x.startsWith("calibration_"))
                    .distinct().sorted().toList();
        }
        html.append("<h3>Metrics per slice</h3><p class=\"hint\">Click a column to sort.</p>\n<table class=\"sortable\" id=\"slice-table\"><thead><tr><th>slice</th><th>rows</th>");
        metrics.forEach(x -> html.append("<th>").append(esc(x)).append("</th>"));
        html.append("</tr></thead><tbody>\n");
        for (String s : slices()) {
            html.append("<tr><td>").append(esc(s)).append("</td><td>")
                    .append(row(s, metrics.get(0)).map(r -> String.valueOf(r.<Long>getAs("row_count"))).orElse("")).append("</td>");
            for (String x : metrics) {
                html.append("<td>").append(d.metric(s, x).map(v -> s.equals("overall") ? number(x, v) : fmt(v)).orElse("")).append("</td>");
            }
            html.append("</tr>\n");
        }
        html.append("</tbody></table>\n");
    }

    private void estimates() {
        if (d.estimates().isEmpty()) {
            return;
        }
        html.append("<h3>Estimated before the outcomes vs realized</h3>\n<div class=\"charts\">\n");
        List<Charts.Estimate> rows = d.estimates().stream().sorted(Comparator.comparing((Row r) -> r.<String>getAs("metric")))
                .filter(r -> r.getAs("estimate") != null && !r.<Double>getAs("estimate").isNaN())
                .map(r -> new Charts.Estimate(r.getAs("metric"), r.getAs("estimate"), finite(r.getAs("lower")), finite(r.getAs("upper")),
                        finite(r.getAs("realized")))).toList();
        chart("estimates", "Estimated (95% band) and realized performance (overall)", Charts.estimates(rows));
        html.append("</div>\n<table><thead><tr><th>metric</th><th>estimated</th><th>95% band</th><th>realized</th></tr></thead><tbody>\n");
        for (Charts.Estimate e : rows) {
            html.append("<tr><td>").append(esc(e.metric())).append("</td><td>").append(fmt(e.estimate())).append("</td><td>")
                    .append(e.lower() == null ? "n/a" : fmt(e.lower()) + " .. " + fmt(e.upper())).append("</td><td>")
                    .append(e.realized() == null ? "not yet" : fmt(e.realized())).append("</td></tr>\n");
        }
        html.append("</tbody></table>\n");
    }

    private void drift() {
        html.append("<section id=\"drift\"><h2>Drift, current window ").append(esc(d.from() + " .. " + d.to())).append("</h2>\n");
        if (d.driftRunId().isEmpty()) {
            html.append("<p class=\"missing\">No drift run of this version with this current window: run <code>kiln drift --model ")
                    .append(esc(d.model().uri())).append(" --current ").append(d.from()).append("..").append(d.to())
                    .append("</code>.</p></section>\n");
            return;
        }
        Row first = d.drift().get(0);
        html.append("<p>Reference ").append(esc(first.getAs("reference_from") + " .. " + first.getAs("reference_to")))
                .append(", run ").append(esc(d.driftRunId().get())).append(".</p>\n");
        List<Row> metrics = d.drift().stream().sorted(Comparator.comparing((Row r) -> !"breach".equals(r.getAs("status")))
                .thenComparing(r -> r.<String>getAs("feature")).thenComparing(r -> r.<String>getAs("metric"))).toList();
        html.append("<table class=\"sortable\" id=\"drift-table\"><thead><tr><th>input</th><th>kind</th><th>metric</th><th>value</th>"
                + "<th>threshold</th><th>status</th></tr></thead><tbody>\n");
        for (Row r : metrics) {
            html.append("<tr class=\"").append(esc(String.valueOf(r.<String>getAs("status")).replace('/', '-'))).append("\"><td>")
                    .append(esc(r.getAs("feature"))).append("</td><td>").append(esc(r.getAs("kind"))).append("</td><td>")
                    .append(esc(r.getAs("metric"))).append("</td><td>").append(fmt(r.getAs("value"))).append("</td><td>")
                    .append(fmt(r.getAs("threshold"))).append("</td><td>").append(esc(r.getAs("status"))).append("</td></tr>\n");
        }
        html.append("</tbody></table>\n");
        // Inputs with a breach first, then by name; the score last.
        List<String> flagged = metrics.stream().filter(r -> "breach".equals(r.getAs("status"))).map(r -> r.<String>getAs("feature"))
                .distinct().toList();
        Comparator<String> order = Comparator.comparing((String c) -> c.equals("score")).thenComparing(c -> !flagged.contains(c))
                .thenComparing(c -> c);
        html.append("<h3>Distributions, reference vs current</h3>\n<div class=\"charts\">\n");
        Map<String, List<Row>> binsByColumn = d.bins().stream().collect(Collectors.groupingBy(r -> r.<String>getAs("column_name"),
                TreeMap::new, Collectors.toList()));
        List<String> columns = new ArrayList<>(binsByColumn.keySet());
        List<String> categorical = d.profile().stream().filter(r -> "categorical".equals(r.getAs("kind")))
                .map(r -> r.<String>getAs("column_name")).distinct().toList();
        columns.addAll(categorical);
        columns.sort(order);
        int i = 0;
        for (String c : columns) {
            String id = "dist-" + i++;
            String mark = flagged.contains(c) ? " (flagged)" : "";
            if (binsByColumn.containsKey(c)) {
                chart(id, (c.equals("score") ? "Score distribution" : c) + mark, Charts.histogram(c, histogram(binsByColumn.get(c))));
            } else {
                chart(id, c + ": top values" + mark, Charts.topValues(c, topValues(c)));
            }
        }
        html.append("</div></section>\n");
    }

    private static List<Charts.Bin> histogram(List<Row> rows) {
        Map<String, Long> totals = rows.stream().collect(Collectors.groupingBy(r -> r.<String>getAs("window"),
                Collectors.summingLong(r -> r.<Long>getAs("count"))));
        return rows.stream().sorted(Comparator.comparing((Row r) -> r.<String>getAs("window")).thenComparing(r -> r.<Integer>getAs("bin")))
                .map(r -> {
                    long total = totals.get(r.<String>getAs("window"));
                    long n = r.getAs("count");
                    return new Charts.Bin(r.getAs("window"), r.getAs("lower"), r.getAs("upper"), n, total == 0 ? 0 : (double) n / total);
                }).toList();
    }

    private List<Charts.Category> topValues(String column) {
        List<Charts.Category> out = new ArrayList<>();
        for (String w : List.of("reference", "current")) {
            List<Row> of = d.profile().stream().filter(r -> column.equals(r.getAs("column_name")) && w.equals(r.getAs("window"))).toList();
            double rows = of.stream().filter(r -> "count".equals(r.getAs("statistic"))).map(r -> r.<Double>getAs("value"))
                    .findFirst().orElse(0.0);
            for (Row r : of) {
                String s = r.getAs("statistic");
                if (s.startsWith("top_") && r.getAs("text") != null && r.getAs("value") != null) {
                    double n = r.getAs("value");
                    out.add(new Charts.Category(w, r.getAs("text"), (long) n, rows == 0 ? 0 : n / rows));
                }
            }
        }
        return out;
    }

    private void alerts() {
        html.append("<section id=\"alerts\"><h2>Alerts of this version</h2>\n");
        if (d.alerts().isEmpty()) {
            html.append("<p>None.</p></section>\n");
            return;
        }
        html.append("<table class=\"sortable\"><thead><tr><th>raised</th><th>source</th><th>input</th><th>metric</th><th>value</th>"
                + "<th>threshold</th><th>message</th><th>retraining</th></tr></thead><tbody>\n");
        for (Row r : d.alerts()) {
            String retrain = r.getAs("retrain_run_id") != null ? "requested: " + r.getAs("retrain_run_id")
                    : r.getAs("retrain_error") != null ? "failed: " + r.getAs("retrain_error") : "";
            html.append("<tr><td>").append(esc(String.valueOf(r.<Object>getAs("created_at")))).append("</td><td>")
                    .append(esc(r.getAs("source"))).append("</td><td>").append(esc(r.getAs("feature"))).append("</td><td>")
                    .append(esc(r.getAs("metric"))).append("</td><td>").append(fmt(r.getAs("value"))).append("</td><td>")
                    .append(fmt(r.getAs("threshold"))).append("</td><td>").append(esc(r.getAs("message"))).append("</td><td>")
                    .append(esc(retrain)).append("</td></tr>\n");
        }
        html.append("</tbody></table></section>\n");
    }

    private void runs() {
        html.append("<section id=\"runs\"><h2>Job runs behind these numbers</h2>\n<table class=\"sortable\"><thead><tr><th>run id</th>"
                + "<th>job</th><th>status</th><th>started</th><th>seconds</th><th>Spark application</th></tr></thead><tbody>\n");
        for (Row r : d.runs()) {
            html.append("<tr><td>").append(esc(r.getAs("run_id"))).append("</td><td>").append(esc(r.getAs("job"))).append("</td><td>")
                    .append(esc(r.getAs("status"))).append("</td><td>").append(esc(String.valueOf(r.<Object>getAs("started_at"))))
                    .append("</td><td>").append(fmt(r.getAs("duration_s"))).append("</td><td>").append(esc(r.getAs("spark_app_id")))
                    .append("</td></tr>\n");
        }
        html.append("</tbody></table></section>\n");
    }

    // ---------------------------------------------------------------- helpers

    private void chart(String id, String title, ObjectNode spec) {
        charts.add(new Chart(id, title, spec));
        html.append("<figure><figcaption>").append(esc(title)).append("</figcaption><div class=\"chart\" id=\"chart-").append(esc(id))
                .append("\"></div></figure>\n");
    }

    private String specs() {
        Map<String, ObjectNode> byId = new LinkedHashMap<>();
        charts.forEach(c -> byId.put("chart-" + c.id(), c.spec()));
        try {
            // "</" cannot end the script element early: JSON allows "\/" for "/".
            return Charts.JSON.writeValueAsString(byId).replace("</", "<\\/");
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private void kv(String key, String value) {
        html.append("<tr><th>").append(esc(key)).append("</th><td>").append(esc(value)).append("</td></tr>\n");
    }

    /** A number the tests read back: shown to 4 decimals, exact in {@code data-value}. */
    private static String number(String metric, double v) {
        return "<span class=\"kiln-number\" data-metric=\"" + esc(metric) + "\" data-value=\"" + v + "\">" + fmt(v) + "</span>";
    }

    static String fmt(Double v) {
        return v == null ? "" : v.isNaN() ? "NaN" : String.format(Locale.ROOT, "%.4f", v + 0.0); // + 0.0: no "-0.0000"
    }

    private static Double finite(Double v) {
        return v == null || v.isNaN() || v.isInfinite() ? null : v;
    }

    static String esc(Object o) {
        if (o == null) {
            return "";
        }
        String s = o.toString();
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    private static final String STYLE = """
            body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 16px}
            h1{font-size:1.5em}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
            table{border-collapse:collapse;margin:8px 0;font-size:.9em}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
            table.kv th{background:#f6f6f6;white-space:nowrap}table.sortable th{cursor:pointer;background:#f6f6f6}
            tr.breach td{background:#fde2e1}.cards{display:flex;flex-wrap:wrap;gap:12px}
            .card{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:170px}.label{color:#555;font-size:.85em}
            .big{font-size:1.6em;font-weight:600}.note{color:#777;font-size:.8em}.charts{display:flex;flex-wrap:wrap;gap:18px}
            figure{margin:0}figcaption{font-weight:600;font-size:.9em;margin-bottom:4px}.missing{color:#a33}.hint{color:#777;font-size:.8em}
            footer{margin-top:40px;color:#777;font-size:.8em}
            """;

    /** Draws every chart, counts those drawn (for tests and the page's own check), and makes tables sortable. */
    private static final String EMBED = """
            window.kilnCharts = {expected: Object.keys(KILN_SPECS).length, drawn: 0, failed: []};
            for (const [id, spec] of Object.entries(KILN_SPECS)) {
              vegaEmbed('#' + id, spec, {renderer: 'svg', actions: false})
                .then(() => { window.kilnCharts.drawn++; })
                .catch(e => { window.kilnCharts.failed.push(id + ': ' + e); document.getElementById(id).textContent = 'chart failed: ' + e; });
            }
            for (const table of document.querySelectorAll('table.sortable')) {
              table.querySelectorAll('th').forEach((th, col) => th.addEventListener('click', () => {
                const body = table.tBodies[0];
                const asc = th.dataset.order !== 'asc';
                th.dataset.order = asc ? 'asc' : 'desc';
                const key = tr => { const t = tr.cells[col].textContent.trim(); const n = parseFloat(t.replace(/,/g, ''));
                  return isNaN(n) ? t : n; };
                [...body.rows].sort((a, b) => { const x = key(a), y = key(b);
                  const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
                  return asc ? c : -c; }).forEach(tr => body.appendChild(tr));
              }));
            }
            """;
}
