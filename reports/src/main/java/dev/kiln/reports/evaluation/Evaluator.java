package dev.kiln.reports.evaluation;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import dev.kiln.features.definition.FeatureSets;
import dev.kiln.features.trainingset.TrainingSetBuilder;
import dev.kiln.features.trainingset.TrainingSetRegistry;
import dev.kiln.features.trainingset.TrainingSetSpec;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import dev.kiln.lakehouse.commit.Predicate;
import dev.kiln.lakehouse.fault.CrashPoint;
import dev.kiln.scoring.BatchScorer;
import dev.kiln.training.BinaryCurves;
import dev.kiln.training.decision.Decision;
import dev.kiln.training.registry.ModelRegistry;
import dev.kiln.training.registry.ModelUri;
import dev.kiln.training.registry.ModelVersion;
import dev.kiln.training.spec.Task;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;

/**
 * {@code kiln evaluate}: a model's predictions over a day range joined to the outcomes (the training set's
 * label expression over its events, once they exist), measured overall and per slice into
 * {@code reports.evaluation}. Events are matched on every event column the predictions keep; events that
 * look identical count together (same features, same score), so duplicates are neither lost nor multiplied.
 */
public final class Evaluator {
    public static final TableName TABLE = TableName.of("reports", "evaluation");

    /**
     * The leading columns of every report on a model version's window and slice ({@code reports.evaluation}, its
     * curves, {@code reports.performance_estimate}): run id, model name and version, window, slice.
     */
    public static StructType windowSliceColumns() {
        return new StructType()
                .add("run_id", DataTypes.StringType, false)
                .add("model_name", DataTypes.StringType, false)
                .add("model_version", DataTypes.IntegerType, false)
                .add("window_from", DataTypes.DateType, false)
                .add("window_to", DataTypes.DateType, false)
                .add("slice", DataTypes.StringType, false);
    }

    /** The rows of such a report for one model version and window: what one run replaces. */
    public static Predicate window(ModelVersion m, LocalDate from, LocalDate to) {
        return Predicate.all(List.of(Predicate.eq("model_name", m.name()), Predicate.eq("model_version", m.version()),
                Predicate.eq("window_from", from), Predicate.eq("window_to", to)));
    }

    static final StructType SCHEMA = windowSliceColumns()
            .add("metric", DataTypes.StringType, false)
            .add("value", DataTypes.DoubleType, true)
            .add("row_count", DataTypes.LongType, false)
            .add("created_at", DataTypes.TimestampType, false);

    public static final TableName CURVES = TableName.of("reports", "evaluation_curves");

    /** The most curve points kept per slice. */
    public static final int CURVE_POINTS = 200;

    static final StructType CURVES_SCHEMA = windowSliceColumns()
            .add("point", DataTypes.LongType, false)
            .add("threshold", DataTypes.DoubleType, false)
            .add("true_positives", DataTypes.LongType, false)
            .add("false_positives", DataTypes.LongType, false)
            .add("false_negatives", DataTypes.LongType, false)
            .add("true_negatives", DataTypes.LongType, false)
            .add("recall", DataTypes.DoubleType, false)
            .add("false_positive_rate", DataTypes.DoubleType, false)
            .add("precision", DataTypes.DoubleType, false)
            .add("created_at", DataTypes.TimestampType, false);

    /** An evaluation's metrics and, for a classifier, its slices' curve points. */
    public record Evaluation(List<EvaluationMetric> metrics, List<CurvePoint> curves) {}

    private final Lakehouse lakehouse;
    private final FeatureSets sets;
    private final Consumer<String> progress;

    public Evaluator(Lakehouse lakehouse, FeatureSets sets, Consumer<String> progress) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
        this.sets = requireNonNull(sets, "sets is null");
        this.progress = requireNonNull(progress, "progress is null");
    }

    public List<EvaluationMetric> evaluate(ModelUri uri, LocalDate from, LocalDate to, List<String> sliceBy, int topValues, String runId) {
        if (to.isBefore(from)) {
            throw new KilnException("the evaluation window is empty: --to " + to + " is before --from " + from);
        }
        ModelVersion m = new ModelRegistry(lakehouse).resolve(uri);
        Evaluation evaluation = measure(m, from, to, sliceBy, topValues);
        List<EvaluationMetric> out = evaluation.metrics();
        write(runId, m, from, to, evaluation);
        progress.accept(String.format("evaluate %s %s .. %s: %d metrics over %d slice(s)", m.uri(), from, to, out.size(),
                out.stream().map(EvaluationMetric::slice).distinct().count()));
        return out;
    }

    /** What {@link #evaluate} writes, measured and returned, nothing written (the HTML report's curves of older evaluations). */
    public Evaluation measure(ModelVersion m, LocalDate from, LocalDate to, List<String> sliceBy, int topValues) {
        TrainingSetSpec spec = new TrainingSetRegistry(lakehouse).spec(m.trainingSetId());
        boolean classification = m.taskType() != Task.REGRESSION;
        Dataset<Row> predictions = predictions(m, from, to);
        Dataset<Row> joined = joined(m, spec, predictions, from, to, sliceBy)
                .persist(StorageLevel.MEMORY_AND_DISK());
        try {
            Row totals = joined.agg(sum("n")).first();
            if (totals.isNullAt(0)) {
                long p = predictions.limit(1).count();
                throw new KilnException(p == 0
                        ? "no predictions of " + m.uri() + " between " + from + " and " + to + " (run kiln score first)"
                        : "no outcomes yet for the predictions of " + m.uri() + " between " + from + " and " + to);
            }
            return evaluation(joined, sliceBy, topValues, classification, m.decisionRule());
        } finally {
            joined.unpersist();
        }
    }

    /** The model version's predictions of event days {@code from..to}. */
    private Dataset<Row> predictions(ModelVersion m, LocalDate from, LocalDate to) {
        return predictions(lakehouse, m, from, to);
    }

    /** The model version's predictions of event days {@code from..to}. */
    public static Dataset<Row> predictions(Lakehouse lakehouse, ModelVersion m, LocalDate from, LocalDate to) {
        if (!lakehouse.exists(BatchScorer.PREDICTIONS)) {
            throw new KilnException(BatchScorer.PREDICTIONS + " does not exist: run kiln score first");
        }
        return lakehouse.read(BatchScorer.PREDICTIONS)
                .filter(col("model_name").equalTo(m.name()).and(col("model_version").equalTo(m.version()))
                        .and(col(BatchScorer.DATE).between(lit(java.sql.Date.valueOf(from)), lit(java.sql.Date.valueOf(to)))));
    }

    /**
     * One row per event key of the predictions joined with its outcomes, point in time: {@code (keys, slice columns...,
     * score, n_pred, n, positives)} for classification, {@code (..., n, label)} for regression.
     */
    private Dataset<Row> joined(ModelVersion m, TrainingSetSpec spec, Dataset<Row> predictions, LocalDate from, LocalDate to,
            List<String> sliceBy) {
        boolean classification = m.taskType() != Task.REGRESSION;
        Dataset<Row> outcomes = new TrainingSetBuilder(lakehouse, sets, progress)
                .outcomes(spec, from.atStartOfDay(), to.plusDays(1).atStartOfDay());
        List<String> keys = new ArrayList<>();
        for (String c : outcomes.columns()) {
            if (!c.equals(spec.labelColumn())) {
                keys.add(c);
            }
        }
        List<String> predictionColumns = List.of(predictions.columns());
        for (String c : concat(keys, sliceBy)) {
            if (!predictionColumns.contains(c)) {
                throw new KilnException("the predictions of " + m.uri() + " have no column '" + c + "' (columns: "
                        + predictionColumns + ")");
            }
        }
        Column[] keyCols = keys.stream().map(c -> col(c)).toArray(Column[]::new);
        Dataset<Row> scored = predictions.groupBy(keyCols).agg(max("score").as("score"), count(lit(1)).as("n_pred"));
        Column label = col(spec.labelColumn());
        // Classification: positives per event key. Regression: one row per key and label value, so that absolute
        // errors stay exact when events that share a key have different labels.
        Dataset<Row> observed = classification
                ? outcomes.groupBy(keyCols).agg(count(lit(1)).as("n"), sum(when(label, 1L).otherwise(0L)).as("positives"))
                : outcomes.groupBy(concat(keys, List.of(spec.labelColumn())).stream().map(c -> col(c)).toArray(Column[]::new))
                        .agg(count(lit(1)).as("n")).withColumnRenamed(spec.labelColumn(), "label");
        return scored.join(observed, scala.jdk.javaapi.CollectionConverters.asScala(keys).toSeq(), "inner");
    }

    /**
     * The plan of an evaluation's SQL work over every prediction of the model version, not run (for plan reports such
     * as {@code kiln gpu-plan}): predictions joined with their outcomes, then the per-bin sums of the overall slice.
     */
    public Dataset<Row> plan(ModelUri uri) {
        ModelVersion m = new ModelRegistry(lakehouse).resolve(uri);
        TrainingSetSpec spec = new TrainingSetRegistry(lakehouse).spec(m.trainingSetId());
        LocalDate first = LocalDate.of(1900, 1, 1);
        LocalDate last = LocalDate.of(9999, 12, 30);
        Dataset<Row> rows = joined(m, spec, predictions(m, first, last), first, last, List.of()).withColumn("__slice", lit(0));
        return m.taskType() == Task.REGRESSION ? regressionSums(rows) : binSums(rows, m.decisionRule());
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    /**
     * Every metric of the overall slice and of the top {@code topValues} values (most events first, ties by value)
     * of each {@code sliceBy} column, over rows {@code (score, n, positives)} (classification) or
     * {@code (score, n, label)} (regression) carrying the slice columns. All slices are measured together in a
     * constant number of Spark jobs, whatever the number of slice values: one job picks every column's top values
     * (each task keeps its own top ones, the driver merges those), then each row is counted once per slice it is
     * in, and one aggregation by (slice, calibration bin) plus one distributed curve computation
     * ({@link BinaryCurves#byKey}) measure every slice at once. Slices are named {@code column=value}; a null
     * value is not a slice (no row equals it).
     */
    public static List<EvaluationMetric> metrics(Dataset<Row> rows, List<String> sliceBy, int topValues, boolean classification,
            double threshold) {
        return metrics(rows, sliceBy, topValues, classification, Decision.above(threshold));
    }

    /** The same, with threshold metrics at the model's decision. */
    public static List<EvaluationMetric> metrics(Dataset<Row> rows, List<String> sliceBy, int topValues, boolean classification,
            Decision decision) {
        return evaluation(rows, sliceBy, topValues, classification, decision).metrics();
    }

    /** The same, and a classifier's curve points, from the same passes. */
    public static Evaluation evaluation(Dataset<Row> rows, List<String> sliceBy, int topValues, boolean classification,
            Decision decision) {
        Sliced sliced = slices(rows, sliceBy, topValues);
        return classification ? binary(sliced.names(), sliced.rows(), decision)
                : new Evaluation(regression(sliced.names(), sliced.rows()), List.of());
    }

    /** Rows tagged with the slices they are in ({@code __slice}, once per slice), and the slices' names by number. */
    public record Sliced(List<String> names, Dataset<Row> rows) {}

    /**
     * Slice 0 is {@code overall}; then {@code column=value} for the {@code topValues} values of each {@code sliceBy}
     * column with the most rows (counted by the rows' {@code n}), found in one job.
     */
    public static Sliced slices(Dataset<Row> rows, List<String> sliceBy, int topValues) {
        List<String> names = new ArrayList<>(List.of("overall"));
        List<Column> ids = new ArrayList<>(List.of(lit(0)));
        List<List<String>> top = topValues(rows, sliceBy, topValues);
        for (int i = 0; i < sliceBy.size(); i++) {
            List<Column> entries = new ArrayList<>();
            for (String value : top.get(i)) {
                entries.add(lit(value));
                entries.add(lit(names.size()));
                names.add(sliceBy.get(i) + "=" + value);
            }
            if (!entries.isEmpty()) {
                ids.add(org.apache.spark.sql.functions.try_element_at(org.apache.spark.sql.functions.map(entries.toArray(Column[]::new)),
                        col(dev.kiln.lakehouse.catalog.Identifiers.quote(sliceBy.get(i))).cast("string")));
            }
        }
        Dataset<Row> bySlice = rows.withColumn("__slice", org.apache.spark.sql.functions.explode(
                org.apache.spark.sql.functions.array(ids.toArray(Column[]::new)))).filter(col("__slice").isNotNull());
        return new Sliced(List.copyOf(names), bySlice);
    }

    /** Each slice column's top values as text (most events first, then by value), from one job. */
    private static List<List<String>> topValues(Dataset<Row> rows, List<String> sliceBy, int topValues) {
        List<List<String>> out = new ArrayList<>();
        if (sliceBy.isEmpty() || topValues <= 0) {
            sliceBy.forEach(c -> out.add(List.of()));
            return out;
        }
        Column[] entries = new Column[sliceBy.size()];
        for (int i = 0; i < entries.length; i++) {
            Column c = col(dev.kiln.lakehouse.catalog.Identifiers.quote(sliceBy.get(i)));
            // Ties break in the column's own order: numbers (and booleans) as numbers, the rest as text.
            boolean numeric = rows.schema().apply(sliceBy.get(i)).dataType() instanceof org.apache.spark.sql.types.NumericType
                    || rows.schema().apply(sliceBy.get(i)).dataType() instanceof org.apache.spark.sql.types.BooleanType;
            entries[i] = org.apache.spark.sql.functions.struct(lit(i).as("i"),
                    (numeric ? c.cast("double") : lit(null).cast("double")).as("num"), c.cast("string").as("text"));
        }
        Dataset<Row> counts = rows.select(org.apache.spark.sql.functions.explode(org.apache.spark.sql.functions.array(entries)).as("e"),
                col("n")).select(col("e.i").as("i"), col("e.num").as("num"), col("e.text").as("text"), col("n"))
                .filter(col("text").isNotNull())
                .groupBy("i", "num", "text").agg(sum("n").as("rows"));
        java.util.Comparator<Row> order = new TopOrder();
        int columns = sliceBy.size();
        List<Row> candidates = counts.javaRDD().mapPartitions(it -> {
            List<List<Row>> kept = new ArrayList<>();
            for (int i = 0; i < columns; i++) {
                kept.add(new ArrayList<>());
            }
            while (it.hasNext()) {
                Row r = it.next();
                List<Row> k = kept.get(r.getInt(0));
                k.add(r);
                if (k.size() > 2 * topValues) { // trim now and then: a task keeps O(top) rows per column
                    k.sort(order);
                    k.subList(topValues, k.size()).clear();
                }
            }
            List<Row> all = new ArrayList<>();
            for (List<Row> k : kept) {
                k.sort(order);
                all.addAll(k.subList(0, Math.min(topValues, k.size())));
            }
            return all.iterator();
        }).collect();
        List<Row> sorted = new ArrayList<>(candidates);
        sorted.sort(order);
        for (int i = 0; i < columns; i++) {
            out.add(new ArrayList<>());
        }
        for (Row r : sorted) {
            List<String> values = out.get(r.getInt(0));
            if (values.size() < topValues) {
                values.add(r.getString(2));
            }
        }
        return out;
    }

    /** Rows (column index, number, text, rows): by column, most rows first, then by value. */
    private static final class TopOrder implements java.util.Comparator<Row>, java.io.Serializable {
        private static final long serialVersionUID = 1L;

        @Override
        public int compare(Row a, Row b) {
            int c = Integer.compare(a.getInt(0), b.getInt(0));
            if (c == 0) {
                c = Long.compare(b.getLong(3), a.getLong(3));
            }
            if (c == 0 && !a.isNullAt(1) && !b.isNullAt(1)) {
                c = Double.compare(a.getDouble(1), b.getDouble(1));
            }
            return c != 0 ? c : org.apache.spark.unsafe.types.UTF8String.fromString(a.getString(2))
                    .compareTo(org.apache.spark.unsafe.types.UTF8String.fromString(b.getString(2))); // byte order, as SQL
        }
    }

    /**
     * Binary metrics of rows {@code (score, n, positives)}: each row stands for n events with that score,
     * of which {@code positives} were positive. Exact sums; the curve areas over every distinct score.
     */
    public static List<EvaluationMetric> binary(String slice, Dataset<Row> rows, double threshold) {
        return binary(slice, rows, Decision.above(threshold));
    }

    /** The same, with threshold metrics at {@code decision}. */
    public static List<EvaluationMetric> binary(String slice, Dataset<Row> rows, Decision decision) {
        return binary(List.of(slice), rows.withColumn("__slice", lit(0)), decision).metrics();
    }

    /** Binary metrics of every slice of rows {@code (__slice, score, n, positives)}; slice i is named {@code names[i]}. */
    private static Evaluation binary(List<String> names, Dataset<Row> rows, Decision decision) {
        List<BinSums> bins = binSums(rows, decision).orderBy(col("__slice"), col("bin").asc_nulls_first())
                .collectAsList().stream().map(BinSums::of).toList();
        BinaryCurves.Curves curves = BinaryCurves.curves(BinaryCurves.Sorted.of(rows, "__slice", "score", "positives", "n"),
                CURVE_POINTS);
        Map<Integer, BinaryCurves.Areas> areas = curves.areas();
        List<CurvePoint> points = new ArrayList<>();
        for (BinaryCurves.CurvePoint c : curves.points()) {
            BinaryCurves.Areas a = areas.get(c.key());
            points.add(new CurvePoint(names.get(c.key()), c.index(), c.threshold(), c.tp(), c.fp(), a.positives(), a.negatives()));
        }
        List<EvaluationMetric> out = new ArrayList<>();
        for (int id = 0; id < names.size(); id++) {
            long n = 0;
            long p = 0;
            double logs = 0;
            double squares = 0;
            double tp = 0;
            double fp = 0;
            double fn = 0;
            List<BinSums> calibration = new ArrayList<>();
            for (BinSums b : bins) {
                if (b.slice() != id) {
                    continue;
                }
                n += b.events();
                p += b.positives();
                logs += b.logLikelihood();
                squares += b.squaredError();
                tp += b.truePositives();
                fp += b.falsePositives();
                fn += b.falseNegatives();
                if (b.bin().isPresent()) {
                    calibration.add(b);
                }
            }
            if (n == 0) {
                continue;
            }
            String slice = names.get(id);
            double tn = n - tp - fp - fn;
            double precision = tp + fp == 0 ? Double.NaN : tp / (tp + fp);
            double recall = p == 0 ? Double.NaN : tp / p;
            BinaryCurves.Areas a = areas.getOrDefault(id, new BinaryCurves.Areas(Double.NaN, Double.NaN, 0, 0));
            Map<String, Double> values = new LinkedHashMap<>();
            values.put("auc_roc", a.roc());
            values.put("auc_pr", a.pr());
            values.put("log_loss", -logs / n);
            values.put("brier", squares / n);
            values.put("accuracy", (tp + tn) / n);
            values.put("precision", precision);
            values.put("recall", recall);
            values.put("f1", Double.isNaN(precision) || Double.isNaN(recall) || precision + recall == 0 ? Double.NaN
                    : 2 * precision * recall / (precision + recall));
            values.put("positive_rate", (double) p / n);
            values.put("threshold", decision.threshold());
            long rowsOfSlice = n;
            values.forEach((k, v) -> out.add(new EvaluationMetric(slice, k, Double.isNaN(v) ? null : v, rowsOfSlice)));
            // Calibration: ten bins of the score, mean predicted probability beside the observed rate.
            for (BinSums b : calibration) {
                long bn = b.events();
                long bin = b.bin().orElseThrow();
                String name = String.format("calibration_%.1f_%.1f", bin / 10.0, (bin + 1) / 10.0);
                out.add(new EvaluationMetric(slice, name + "_predicted", b.scoreSum() / bn, bn));
                out.add(new EvaluationMetric(slice, name + "_observed", (double) b.positives() / bn, bn));
            }
        }
        return new Evaluation(out, List.copyOf(points));
    }

    /**
     * Per (slice, calibration bin) of rows {@code (__slice, score, n, positives)}: events, positives, log-likelihood,
     * squared error, TP, FP, FN at the decision, and the score sum. The slice's sums are its bins' sums.
     */
    private static Dataset<Row> binSums(Dataset<Row> rows, Decision decision) {
        Column s = col("score");
        Column pos = col("positives");
        Column neg = col("n").minus(col("positives"));
        Column eps = lit(1e-15);
        Column clipped = org.apache.spark.sql.functions.greatest(eps, org.apache.spark.sql.functions.least(lit(1.0).minus(eps), s));
        Column predicted = decision.predicted(s);
        Column bin = org.apache.spark.sql.functions.least(org.apache.spark.sql.functions.floor(s.multiply(10)), lit(9));
        return rows.groupBy(col("__slice"), bin.as("bin")).agg(
                sum("n").as("events"), sum("positives").as("positives"),
                sum(pos.multiply(org.apache.spark.sql.functions.log(clipped)).plus(neg.multiply(
                        org.apache.spark.sql.functions.log(lit(1.0).minus(clipped))))).as("log_likelihood"),
                sum(pos.multiply(org.apache.spark.sql.functions.pow(lit(1.0).minus(s), 2)).plus(neg.multiply(
                        org.apache.spark.sql.functions.pow(s, 2)))).as("squared_error"),
                sum(when(predicted, pos).otherwise(0L)).as("tp"), sum(when(predicted, neg).otherwise(0L)).as("fp"),
                sum(when(predicted, 0L).otherwise(pos)).as("fn"), sum(s.multiply(col("n"))).as("score_sum"));
    }

    /** One row of {@link #binSums}, read by column name. */
    private record BinSums(int slice, Optional<Long> bin, long events, long positives, double logLikelihood,
            double squaredError, long truePositives, long falsePositives, long falseNegatives, double scoreSum) {
        static BinSums of(Row r) {
            return new BinSums(r.getInt(r.fieldIndex("__slice")), Optional.ofNullable(r.getAs("bin")), r.getAs("events"),
                    r.getAs("positives"), orZero(r, "log_likelihood"), orZero(r, "squared_error"), r.getAs("tp"),
                    r.getAs("fp"), r.getAs("fn"), orZero(r, "score_sum"));
        }

        private static double orZero(Row r, String column) {
            int i = r.fieldIndex(column);
            return r.isNullAt(i) ? 0 : r.getDouble(i);
        }
    }

    /** Regression metrics of rows {@code (score, n, label)}: n events with that label, each predicted {@code score}. */
    public static List<EvaluationMetric> regression(String slice, Dataset<Row> rows) {
        return regression(List.of(slice), rows.withColumn("__slice", lit(0)));
    }

    /** Regression metrics of every slice of rows {@code (__slice, score, n, label)}, from one aggregation. */
    private static List<EvaluationMetric> regression(List<String> names, Dataset<Row> rows) {
        Row[] sums = (Row[]) regressionSums(rows).orderBy("__slice").collect();
        List<EvaluationMetric> out = new ArrayList<>();
        for (Row r : sums) {
            String slice = names.get(r.<Integer>getAs("__slice"));
            long count = r.getAs("events");
            double mean = r.<Double>getAs("label_sum") / count;
            double sse = r.getAs("squared_error");
            double sst = r.<Double>getAs("label_squares") - count * mean * mean;
            out.add(new EvaluationMetric(slice, "rmse", Math.sqrt(sse / count), count));
            out.add(new EvaluationMetric(slice, "mae", r.<Double>getAs("absolute_error") / count, count));
            out.add(new EvaluationMetric(slice, "r2", sst == 0 ? null : 1 - sse / sst, count));
        }
        return out;
    }

    /** Per slice of rows {@code (__slice, score, n, label)}: events, and the sums of y, y², squared and absolute errors. */
    private static Dataset<Row> regressionSums(Dataset<Row> rows) {
        Column s = col("score");
        Column y = col("label").cast("double");
        Column n = col("n");
        return rows.groupBy(col("__slice")).agg(sum(n).as("events"), sum(y.multiply(n)).as("label_sum"),
                sum(y.multiply(y).multiply(n)).as("label_squares"), sum(y.minus(s).multiply(y.minus(s)).multiply(n)).as("squared_error"),
                sum(org.apache.spark.sql.functions.abs(y.minus(s)).multiply(n)).as("absolute_error"));
    }

    /**
     * Replaces the window's curve points, then its metrics (the metrics last: a run stopped in between leaves the
     * window's metrics as they were, and running it again writes both).
     */
    private void write(String runId, ModelVersion m, LocalDate from, LocalDate to, Evaluation evaluation) {
        Timestamp now = Timestamp.from(Instant.now());
        java.sql.Date fromDate = java.sql.Date.valueOf(from);
        java.sql.Date toDate = java.sql.Date.valueOf(to);
        Predicate predicate = window(m, from, to);
        if (m.taskType() == Task.BINARY_CLASSIFICATION) {
            List<Row> points = new ArrayList<>();
            for (CurvePoint c : evaluation.curves()) {
                points.add(RowFactory.create(runId, m.name(), m.version(), fromDate, toDate, c.slice(), c.point(), c.threshold(),
                        c.truePositives(), c.falsePositives(), c.positives() - c.truePositives(),
                        c.negatives() - c.falsePositives(), c.recall(), c.falsePositiveRate(), c.precision(), now));
            }
            lakehouse.createIfMissing(CURVES, CURVES_SCHEMA, List.of(), "Evaluation curves: ROC and precision-recall points"
                    + " per model version, window and slice (up to " + CURVE_POINTS + " a slice, each exact)", Map.of());
            lakehouse.commits().replace(CURVES, lakehouse.spark().createDataFrame(points, CURVES_SCHEMA).coalesce(1), predicate)
                    .commit();
        }
        List<Row> rows = new ArrayList<>();
        for (EvaluationMetric x : evaluation.metrics()) {
            rows.add(RowFactory.create(runId, m.name(), m.version(), fromDate, toDate, x.slice(), x.metric(), x.value(), x.rows(), now));
        }
        lakehouse.createIfMissing(TABLE, SCHEMA, List.of(), "Model evaluations: metric per model version, window and slice", Map.of());
        Dataset<Row> written = lakehouse.spark().createDataFrame(rows, SCHEMA).coalesce(1);
        lakehouse.commits().replace(TABLE, written, predicate)
                .afterCommit(CrashPoint.EVALUATE_AFTER_COMMIT)
                .commit();
        dev.kiln.reports.estimate.PerformanceEstimator.recordRealized(lakehouse, m, from, to, written);
    }
}
