package dev.kiln.reports.estimate;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import dev.kiln.reports.Alerts;
import dev.kiln.reports.drift.RetrainTrigger;
import dev.kiln.reports.evaluation.Evaluator;
import dev.kiln.training.decision.Decision;
import dev.kiln.training.registry.ModelRegistry;
import dev.kiln.training.registry.ModelUri;
import dev.kiln.training.registry.ModelVersion;
import dev.kiln.training.spec.Task;
import java.sql.Date;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * {@code kiln estimate}: a binary model's performance on a scored window estimated before its outcomes exist,
 * from the scores alone (confidence-based performance estimation: each score taken as the event's probability of
 * being positive, so the scores should be calibrated). Writes {@code reports.performance_estimate}: per slice, the
 * estimated accuracy, precision, recall and F1 at the model's decision threshold and ROC AUC, each with a 95 %
 * band ({@link EstimateSums}), and the realized value beside it once {@code kiln evaluate} measured the window.
 * An overall estimate below its floor ({@link EstimateFloors}) is an alert in {@code reports.alerts}.
 *
 * <p>Distributed and bounded like the curves: the (slice, score) counts are range partitioned and sorted by slice
 * then descending score; each partition sums its share, the driver adds the partitions up in order. A constant
 * number of Spark jobs whatever the number of rows, scores or slices; nothing proportional to them reaches the
 * driver or one task.
 */
public final class PerformanceEstimator {
    public static final TableName TABLE = TableName.of("reports", "performance_estimate");

    static final StructType SCHEMA = Evaluator.windowSliceColumns()
            .add("metric", DataTypes.StringType, false)
            .add("estimate", DataTypes.DoubleType, true)
            .add("lower", DataTypes.DoubleType, true)
            .add("upper", DataTypes.DoubleType, true)
            .add("realized", DataTypes.DoubleType, true)
            .add("row_count", DataTypes.LongType, false)
            .add("created_at", DataTypes.TimestampType, false);

    /** One estimated metric of one slice; {@code realized} once the window's outcomes were evaluated. */
    public record EstimatedMetric(String slice, String metric, Double estimate, Double lower, Double upper, Double realized,
            long rows) {
        /** Whether the realized value is known and lies in the band. */
        public boolean covered() {
            return realized != null && lower != null && realized >= lower && realized <= upper;
        }
    }

    /** What an estimate run found: its metrics and the floors breached. */
    public record Outcome(String runId, ModelVersion model, LocalDate from, LocalDate to, List<EstimatedMetric> metrics,
            List<Alerts.Alert> breaches, Optional<String> retrainRunId, Optional<String> retrainError) {}

    private final Lakehouse lakehouse;
    private final Consumer<String> progress;

    public PerformanceEstimator(Lakehouse lakehouse, Consumer<String> progress) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
        this.progress = requireNonNull(progress, "progress is null");
    }

    public Outcome run(ModelUri uri, LocalDate from, LocalDate to, List<String> sliceBy, int topValues, EstimateFloors floors,
            Optional<RetrainTrigger> trigger, String runId) {
        if (to.isBefore(from)) {
            throw new KilnException("the estimate's window is empty: --to " + to + " is before --from " + from);
        }
        ModelVersion m = new ModelRegistry(lakehouse).resolve(uri);
        if (m.taskType() != Task.BINARY_CLASSIFICATION) {
            throw new KilnException(m.uri() + " is a " + m.task() + " model: performance is estimated for binary classifiers");
        }
        Dataset<Row> predictions = Evaluator.predictions(lakehouse, m, from, to);
        Decision decision = m.decisionRule();
        List<String> columns = new ArrayList<>(sliceBy);
        columns.add("score");
        Dataset<Row> rows = predictions.selectExpr(columns.stream().map(dev.kiln.lakehouse.catalog.Identifiers::quote)
                .toArray(String[]::new)).filter(col("score").isNotNull()).withColumn("n", lit(1L));
        Evaluator.Sliced sliced = Evaluator.slices(rows, sliceBy, topValues);
        Map<Integer, EstimateSums> sums = sums(sliced.rows(), decision);
        if (sums.isEmpty()) {
            throw new KilnException("no predictions of " + m.uri() + " between " + from + " and " + to + " (run kiln score first)");
        }
        Map<String, Double> realized = realized(m, from, to);
        List<EstimatedMetric> out = new ArrayList<>();
        sums.forEach((id, s) -> {
            String slice = sliced.names().get(id);
            for (EstimateSums.Estimate e : s.metrics()) {
                out.add(new EstimatedMetric(slice, e.metric(), orNull(e.estimate()), orNull(e.lower()), orNull(e.upper()),
                        realized.get(slice + "\u0000" + e.metric()), s.events));
            }
        });
        Timestamp now = Timestamp.from(Instant.now());
        write(runId, m, from, to, out, now);
        List<Alerts.Alert> breaches = new ArrayList<>();
        for (EstimatedMetric e : out) {
            if (e.slice().equals("overall") && e.estimate() != null && floors.breached(e.metric(), e.estimate())) {
                breaches.add(new Alerts.Alert("estimate", m.name(), m.version(), e.slice(), e.metric(), e.estimate(),
                        floors.byMetric().get(e.metric()), String.format("estimated %s %.4f (95%% band %s) is below its floor %s"
                                + " (%s, %s .. %s, %,d predictions, no outcomes needed)", e.metric(), e.estimate(),
                                e.lower() == null ? "n/a" : String.format("%.4f .. %.4f", e.lower(), e.upper()),
                                floors.byMetric().get(e.metric()), m.uri(), from, to, e.rows())));
            }
        }
        Optional<String> retrainRunId = Optional.empty();
        Optional<String> retrainError = Optional.empty();
        if (!breaches.isEmpty()) {
            if (trigger.isPresent()) {
                String reason = "estimate run " + runId + ": " + String.join("; ", breaches.stream().map(Alerts.Alert::message).toList());
                try {
                    retrainRunId = Optional.of(trigger.get().requestRetrain(m.name(), reason, runId));
                    progress.accept("estimate: retraining of " + m.name() + " requested (run " + retrainRunId.get() + ")");
                } catch (RuntimeException e) {
                    retrainError = Optional.of(KilnException.firstLine(String.valueOf(e.getMessage())));
                    progress.accept("estimate: requesting the retraining of " + m.name() + " failed: " + retrainError.get());
                }
            }
            Alerts.write(lakehouse, runId, breaches, retrainRunId, retrainError, now);
        }
        progress.accept(String.format("estimate %s %s .. %s: %d metrics over %d slice(s), %d below a floor", m.uri(), from, to,
                out.size(), sums.size(), breaches.size()));
        return new Outcome(runId, m, from, to, out, breaches, retrainRunId, retrainError);
    }

    /**
     * The estimate's sums of every slice of rows {@code (__slice, score)}, one row an event, in one pass over the
     * distributed sort of the (slice, score) counts.
     */
    public static Map<Integer, EstimateSums> sums(Dataset<Row> rows, Decision decision) {
        JavaRDD<InternalRow> sorted = rows.groupBy(col("__slice").cast("int").as("k"), col("score").cast("double").as("s"))
                .agg(count(lit(1)).as("c"))
                .repartitionByRange(col("k").asc(), col("s").desc())
                .sortWithinPartitions(col("k").asc(), col("s").desc())
                .queryExecution().toRdd().toJavaRDD();
        record Part(int partition, int key, EstimateSums sums) implements java.io.Serializable {}
        List<Part> parts = sorted.mapPartitionsWithIndex((index, it) -> {
            List<Part> out = new ArrayList<>();
            Part part = null;
            double above = 0;
            while (it.hasNext()) {
                InternalRow r = it.next();
                int k = r.getInt(0);
                if (part == null || part.key() != k) {
                    part = new Part(index, k, new EstimateSums());
                    out.add(part);
                    above = 0;
                }
                double p = r.getDouble(1);
                long c = r.getLong(2);
                part.sums().add(p, c, decision, above);
                above += c * p;
            }
            return out.iterator();
        }, true).collect();
        List<Part> ordered = new ArrayList<>(parts);
        ordered.sort(Comparator.comparingInt(Part::partition));
        Map<Integer, EstimateSums> out = new TreeMap<>();
        Map<Integer, Double> above = new HashMap<>();
        for (Part p : ordered) {
            EstimateSums total = out.computeIfAbsent(p.key(), k -> new EstimateSums());
            total.add(p.sums(), above.getOrDefault(p.key(), 0.0));
            above.merge(p.key(), p.sums().positives(), Double::sum);
        }
        return out;
    }

    /** The window's realized metrics from {@code reports.evaluation}, by slice and metric, where evaluated. */
    private Map<String, Double> realized(ModelVersion m, LocalDate from, LocalDate to) {
        Map<String, Double> out = new HashMap<>();
        if (!lakehouse.exists(Evaluator.TABLE)) {
            return out;
        }
        for (Row r : lakehouse.read(Evaluator.TABLE).filter(col("model_name").equalTo(m.name())
                .and(col("model_version").equalTo(m.version())).and(col("window_from").equalTo(lit(Date.valueOf(from))))
                .and(col("window_to").equalTo(lit(Date.valueOf(to)))).and(col("metric").isin(EstimateFloors.METRICS.toArray())))
                .select("slice", "metric", "value").collectAsList()) {
            if (!r.isNullAt(2)) {
                out.put(r.getString(0) + "\u0000" + r.getString(1), r.getDouble(2));
            }
        }
        return out;
    }

    private void write(String runId, ModelVersion m, LocalDate from, LocalDate to, List<EstimatedMetric> metrics, Timestamp now) {
        List<Row> rows = new ArrayList<>();
        for (EstimatedMetric e : metrics) {
            rows.add(RowFactory.create(runId, m.name(), m.version(), Date.valueOf(from), Date.valueOf(to), e.slice(), e.metric(),
                    e.estimate(), e.lower(), e.upper(), e.realized(), e.rows(), now));
        }
        lakehouse.createIfMissing(TABLE, SCHEMA, List.of(), "Performance estimated from the scores before outcomes arrive,"
                + " per model version, window, slice and metric, with its 95% band and the realized value once evaluated", Map.of());
        lakehouse.commits().replace(TABLE, lakehouse.spark().createDataFrame(rows, SCHEMA).coalesce(1),
                Evaluator.window(m, from, to)).commit();
    }

    /**
     * Keeps the realized values of an evaluation beside the window's estimates, where there are any (called by
     * {@code kiln evaluate} after it wrote its metrics).
     */
    public static void recordRealized(Lakehouse lakehouse, ModelVersion m, LocalDate from, LocalDate to, Dataset<Row> evaluation) {
        if (!lakehouse.exists(TABLE)) {
            return;
        }
        Dataset<Row> realized = evaluation.filter(col("metric").isin(EstimateFloors.METRICS.toArray()))
                .select(col("model_name"), col("model_version"), col("window_from"), col("window_to"), col("slice"), col("metric"),
                        col("value"));
        org.apache.spark.sql.Column on = null;
        for (String c : List.of("model_name", "model_version", "window_from", "window_to", "slice", "metric")) {
            org.apache.spark.sql.Column eq = col("t." + c).equalTo(col("s." + c));
            on = on == null ? eq : on.and(eq);
        }
        lakehouse.commits().merge(TABLE, realized, on).update(Map.of("realized", col("s.value"))).commit();
    }

    private static Double orNull(double v) {
        return Double.isNaN(v) ? null : v;
    }
}
