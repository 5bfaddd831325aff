package dev.kiln.bench;

import static org.apache.spark.sql.functions.avg;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.datediff;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.greatest;
import static org.apache.spark.sql.functions.hll_sketch_agg;
import static org.apache.spark.sql.functions.hll_sketch_estimate;
import static org.apache.spark.sql.functions.hll_union_agg;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.sqrt;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.to_date;
import static org.apache.spark.sql.functions.when;

import dev.kiln.lakehouse.KilnException;
import java.io.IOException;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.feature.SQLTransformer;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.expressions.WindowSpec;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The flights pipeline written by hand with Spark, Delta and MLlib, as a data engineer would without Kiln: the
 * baseline of {@code kiln bench pipeline --compare}. It does the work of {@link PipelineBench}'s stages: ingest
 * the flights (the contract's null checks and expectations, bad rows to a quarantine table, partitioned by day),
 * the two feature sets with their windows (origin: 1, 7 and 28 days; route: 7 and 28 days), the previous-day join
 * of both to every flight, the same model inputs (every feature, a missing flag per set, distance; nulls as 0), one
 * logistic regression at fixed parameters trained on January-April and validated on May, June scored, AUC and log
 * loss of June, and PSI and KS of every input and the score, May against June. Paths only, no catalog, no run log,
 * no registry. Its own code, not Kiln's; the drift statistics use the bench's per-feature baseline.
 *
 * <p>A shortcut Kiln cannot take: the feature values are computed only for the (entity, day) pairs that have
 * flights, as they stood at the start of that day (windows over the days before it), so the previous-day join is
 * an equi-join on (entity, day) and no quiet days are ever written. That is the same value Kiln's dense daily
 * rows hold for the day before, for every flight, because a flight's own (origin, day) is always active.
 */
final class HandPipeline {
    private static final String DAY = "day";
    private static final List<String> ORIGIN_FEATURES = List.of("flights_1d", "flights_7d", "avg_delay_1d", "avg_delay_7d",
            "avg_delay_28d", "delayed_rate_7d", "delay_stddev_7d", "destinations_7d");
    private static final List<String> ROUTE_FEATURES = List.of("flights_7d", "avg_delay_7d", "avg_delay_28d", "max_delay_7d",
            "delayed_rate_28d");

    private final SparkSession spark;
    private final String source;
    private final String root;
    private final LocalDateTime trainUntil;
    private final LocalDateTime validateUntil;
    private final LocalDate scoreFrom;
    private final LocalDate scoreTo;
    private final LocalDate referenceFrom;
    private final LocalDate referenceTo;
    private final Map<String, String> grid;

    HandPipeline(SparkSession spark, String source, String root, LocalDateTime trainUntil, LocalDateTime validateUntil,
            LocalDate scoreFrom, LocalDate scoreTo, LocalDate referenceFrom, LocalDate referenceTo, Map<String, String> grid) {
        this.spark = spark;
        this.source = source;
        this.root = root.replaceAll("/+$", "");
        this.trainUntil = trainUntil;
        this.validateUntil = validateUntil;
        this.scoreFrom = scoreFrom;
        this.scoreTo = scoreTo;
        this.referenceFrom = referenceFrom;
        this.referenceTo = referenceTo;
        this.grid = Map.copyOf(grid);
    }

    /** Runs every stage in order through {@code stages}, which times them; rows as PipelineBench counts them. */
    void run(PipelineBench.StageTimer stages) {
        stages.run("ingest", this::ingest);
        stages.run("features", () -> features("origin", List.of("origin"), 28) + features("route", List.of("origin", "destination"), 28));
        stages.run("training set", this::trainingSet);
        stages.run("train", this::train);
        stages.run("score", this::score);
        stages.run("evaluate", this::evaluate);
        stages.run("drift", this::drift);
    }

    private String path(String name) {
        return root + "/" + name;
    }

    private long ingest() {
        Dataset<Row> checked = checked(spark.read().parquet(source));
        checked.filter(not(col("__valid"))).drop("__valid").write().format("delta").mode("overwrite").save(path("quarantine"));
        checked.filter(col("__valid")).drop("__valid").withColumn("flight_date", to_date(col("date")))
                .write().format("delta").mode("overwrite").partitionBy("flight_date").save(path("flights"));
        return rowsOf("flights");
    }

    /** The contract: rows failing it get __valid false. */
    private static Dataset<Row> checked(Dataset<Row> raw) {
        Column valid = col("date").isNotNull().and(col("delay").isNotNull()).and(col("distance").isNotNull())
                .and(col("origin").isNotNull()).and(col("destination").isNotNull())
                .and(col("distance").gt(0))
                .and(expr("length(origin) between 3 and 4 and length(destination) between 3 and 4"))
                .and(col("delay").between(-1440, 2880));
        return raw.withColumn("__valid", coalesce(valid, lit(false)));
    }

    /**
     * One task of the daily DAG on {@code day}, on the tables {@link #run} left (bench daily): ingest the day's file
     * (its partition replaced, so a re-run changes nothing), both feature sets' rows for the day, the day's scores,
     * their AUC and log loss, and their drift from the reference window.
     */
    long daily(String task, LocalDate day, String dayFile) {
        return switch (task) {
            case "ingest" -> {
                Dataset<Row> checked = checked(spark.read().parquet(dayFile));
                checked.filter(not(col("__valid"))).drop("__valid").write().format("delta").mode("append").save(path("quarantine"));
                checked.filter(col("__valid")).drop("__valid").withColumn("flight_date", to_date(col("date")))
                        .write().format("delta").mode("overwrite").option("replaceWhere", "flight_date = DATE'" + day + "'")
                        .save(path("flights"));
                yield spark.read().format("delta").load(path("flights")).filter(days(day, day)).count();
            }
            case "materialize" -> featuresOfDay("origin", List.of("origin"), 28, day)
                    + featuresOfDay("route", List.of("origin", "destination"), 28, day);
            case "score" -> {
                PipelineModel model = PipelineModel.load(path("model"));
                scored(model, joined(days(day, day))).write().format("delta").mode("overwrite")
                        .option("replaceWhere", "flight_date = DATE'" + day + "'").save(path("predictions"));
                yield -1;
            }
            case "evaluate" -> {
                Dataset<Row> predictions = spark.read().format("delta").load(path("predictions")).filter(days(day, day));
                yield evaluation(predictions, "evaluation_daily", day);
            }
            case "drift" -> drift(spark.read().format("delta").load(path("predictions")).filter(days(day, day)), "drift_daily", day);
            default -> throw new KilnException("unknown daily task '" + task + "' (ingest, materialize, score, evaluate, drift)");
        };
    }

    private long rowsOf(String table) {
        return (Long) spark.read().format("delta").load(path(table)).agg(count(lit(1))).first().get(0);
    }

    private static Column dayIndex(Column date) {
        return datediff(date, lit(java.sql.Date.valueOf("1970-01-01")));
    }

    /** One set's values at the start of each (entity, day) with flights: windows over the days before it. */
    private long features(String set, List<String> entity, int longest) {
        featureRows(set, entity, longest, spark.read().format("delta").load(path("flights")))
                .write().format("delta").mode("overwrite").save(path("features_" + set));
        return rowsOf("features_" + set);
    }

    /** One set's rows for {@code day} alone: the flights of the days its windows reach, the rest as above. */
    private long featuresOfDay(String set, List<String> entity, int longest, LocalDate day) {
        Dataset<Row> flights = spark.read().format("delta").load(path("flights")).filter(days(day.minusDays(longest), day));
        long index = day.toEpochDay();
        featureRows(set, entity, longest, flights).filter(col(DAY).equalTo(index)).write().format("delta").mode("overwrite")
                .option("replaceWhere", DAY + " = " + index).save(path("features_" + set));
        return -1;
    }

    private Dataset<Row> featureRows(String set, List<String> entity, int longest, Dataset<Row> flights) {
        Column[] keys = entity.stream().map(c -> col(c)).toArray(Column[]::new);
        List<Column> groupBy = new ArrayList<>(List.of(keys));
        groupBy.add(dayIndex(col("flight_date")).as(DAY));
        Dataset<Row> daily = flights.groupBy(groupBy.toArray(Column[]::new)).agg(count(lit(1)).as("n"),
                sum(col("delay").cast(DataTypes.DoubleType)).as("s"),
                sum(col("delay").cast(DataTypes.DoubleType).multiply(col("delay").cast(DataTypes.DoubleType))).as("q"),
                sum(when(col("delay").gt(15), 1L).otherwise(0L)).as("late"),
                max(col("delay")).as("worst"),
                hll_sketch_agg(col("destination")).as("dest"));
        List<Column> out = new ArrayList<>(List.of(keys));
        out.add(col(DAY));
        WindowSpec byDay = Window.partitionBy(keys).orderBy(col(DAY));
        Column any = count(lit(1)).over(byDay.rangeBetween(-longest, -1)).gt(0);
        if ("origin".equals(set)) {
            out.add(coalesce(sum("n").over(before(byDay, 1)), lit(0L)).as("flights_1d"));
            out.add(coalesce(sum("n").over(before(byDay, 7)), lit(0L)).as("flights_7d"));
            out.add(mean(byDay, 1).as("avg_delay_1d"));
            out.add(mean(byDay, 7).as("avg_delay_7d"));
            out.add(mean(byDay, 28).as("avg_delay_28d"));
            out.add(rate(byDay, 7).as("delayed_rate_7d"));
            Column n = sum("n").over(before(byDay, 7));
            Column s = sum("s").over(before(byDay, 7));
            Column q = sum("q").over(before(byDay, 7));
            out.add(when(n.gt(1), sqrt(greatest(lit(0.0), q.minus(s.multiply(s).divide(n)).divide(n.minus(1))))).as("delay_stddev_7d"));
            out.add(hll_sketch_estimate(hll_union_agg(col("dest"), lit(true)).over(before(byDay, 7))).as("destinations_7d"));
        } else {
            out.add(coalesce(sum("n").over(before(byDay, 7)), lit(0L)).as("flights_7d"));
            out.add(mean(byDay, 7).as("avg_delay_7d"));
            out.add(mean(byDay, 28).as("avg_delay_28d"));
            out.add(max("worst").over(before(byDay, 7)).as("max_delay_7d"));
            out.add(rate(byDay, 28).as("delayed_rate_28d"));
        }
        out.add(any.as("__known"));
        return daily.select(out.toArray(Column[]::new));
    }

    private static WindowSpec before(WindowSpec byDay, int days) {
        return byDay.rangeBetween(-days, -1);
    }

    private static Column mean(WindowSpec byDay, int days) {
        Column n = sum("n").over(before(byDay, days));
        return when(n.gt(0), sum("s").over(before(byDay, days)).divide(n));
    }

    private static Column rate(WindowSpec byDay, int days) {
        Column n = sum("n").over(before(byDay, days));
        return when(n.gt(0), sum("late").over(before(byDay, days)).divide(n));
    }

    /** The flights of [from, to) with both sets' values of the previous day, the missing flags and the label. */
    private Dataset<Row> joined(Column window) {
        Dataset<Row> events = spark.read().format("delta").load(path("flights")).filter(window)
                .select(col("date"), col("flight_date"), col("origin"), col("destination"), col("distance"),
                        col("delay").gt(15).as("label"), dayIndex(col("flight_date")).as(DAY));
        Dataset<Row> origin = spark.read().format("delta").load(path("features_origin"));
        Dataset<Row> route = spark.read().format("delta").load(path("features_route"));
        List<Column> select = new ArrayList<>(List.of(col("e.date"), col("e.flight_date"), col("e.origin"), col("e.destination"),
                col("e.distance"), col("e.label")));
        for (String f : ORIGIN_FEATURES) {
            select.add(when(col("o.__known"), col("o." + f)).as("origin_delay_stats__" + f));
        }
        for (String f : ROUTE_FEATURES) {
            select.add(when(col("r.__known"), col("r." + f)).as("route_delay_stats__" + f));
        }
        select.add(not(coalesce(col("o.__known"), lit(false))).as("origin_delay_stats__missing"));
        select.add(not(coalesce(col("r.__known"), lit(false))).as("route_delay_stats__missing"));
        return events.as("e")
                .join(origin.as("o"), col("e.origin").equalTo(col("o.origin")).and(col("e." + DAY).equalTo(col("o." + DAY))), "left")
                .join(route.as("r"), col("e.origin").equalTo(col("r.origin")).and(col("e.destination").equalTo(col("r.destination")))
                        .and(col("e." + DAY).equalTo(col("r." + DAY))), "left")
                .select(select.toArray(Column[]::new));
    }

    private long trainingSet() {
        joined(lit(true)).write().format("delta").mode("overwrite").partitionBy("flight_date").save(path("training_set"));
        return rowsOf("training_set");
    }

    private static List<String> inputs() {
        List<String> out = new ArrayList<>();
        ORIGIN_FEATURES.forEach(f -> out.add("origin_delay_stats__" + f));
        ROUTE_FEATURES.forEach(f -> out.add("route_delay_stats__" + f));
        out.add("origin_delay_stats__missing");
        out.add("route_delay_stats__missing");
        out.add("distance");
        return out;
    }

    private long train() {
        Dataset<Row> set = spark.read().format("delta").load(path("training_set"))
                .withColumn("y", col("label").cast(DataTypes.DoubleType));
        Dataset<Row> fit = set.filter(col("date").lt(lit(java.sql.Timestamp.valueOf(trainUntil))));
        Dataset<Row> validate = set.filter(col("date").geq(lit(java.sql.Timestamp.valueOf(trainUntil)))
                .and(col("date").lt(lit(java.sql.Timestamp.valueOf(validateUntil)))));
        List<String> casts = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (String c : inputs()) {
            casts.add("coalesce(cast(`" + c + "` AS double), 0D) AS `x_" + c + "`");
            names.add("x_" + c);
        }
        PipelineModel model = new Pipeline().setStages(new PipelineStage[] {
                new SQLTransformer().setStatement("SELECT *, " + String.join(", ", casts) + " FROM __THIS__"),
                new VectorAssembler().setInputCols(names.toArray(String[]::new)).setOutputCol("x").setHandleInvalid("keep"),
                new LogisticRegression().setLabelCol("y").setFeaturesCol("x")
                        .setRegParam(Double.parseDouble(grid.get("regParam")))
                        .setElasticNetParam(Double.parseDouble(grid.get("elasticNetParam")))
                        .setMaxIter(Integer.parseInt(grid.get("maxIter")))}).fit(fit);
        double auc = new BinaryClassificationEvaluator().setLabelCol("y").setRawPredictionCol("rawPrediction")
                .evaluate(model.transform(validate));
        try {
            model.write().overwrite().save(path("model"));
        } catch (IOException e) {
            throw new KilnException("cannot save the hand-written model: " + e.getMessage(), e);
        }
        spark.createDataFrame(List.of(RowFactory.create("validation_auc", auc)),
                new StructType().add("metric", DataTypes.StringType).add("value", DataTypes.DoubleType))
                .write().format("delta").mode("overwrite").save(path("model_metrics"));
        return fit.count();
    }

    private Column days(LocalDate from, LocalDate to) {
        return col("flight_date").between(lit(java.sql.Date.valueOf(from)), lit(java.sql.Date.valueOf(to)));
    }

    private long score() {
        PipelineModel model = PipelineModel.load(path("model"));
        scored(model, joined(days(scoreFrom, scoreTo)))
                .write().format("delta").mode("overwrite").partitionBy("flight_date").save(path("predictions"));
        return rowsOf("predictions");
    }

    private static Dataset<Row> scored(PipelineModel model, Dataset<Row> rows) {
        List<Column> keep = new ArrayList<>();
        for (String c : List.of("date", "flight_date", "origin", "destination", "label")) {
            keep.add(col(c));
        }
        inputs().forEach(c -> keep.add(col(c)));
        keep.add(org.apache.spark.ml.functions.vector_to_array(col("probability"), "float64").getItem(1).as("score"));
        return model.transform(rows).select(keep.toArray(Column[]::new));
    }

    private long evaluate() {
        return evaluation(spark.read().format("delta").load(path("predictions")), "evaluation", null);
    }

    /** AUC and log loss of the labelled predictions into {@code table}: replaced, or with {@code day} appended. */
    private long evaluation(Dataset<Row> scored, String table, LocalDate day) {
        Dataset<Row> predictions = scored.filter(col("label").isNotNull()).withColumn("y", col("label").cast(DataTypes.DoubleType));
        double auc = new BinaryClassificationEvaluator().setLabelCol("y").setRawPredictionCol("score").evaluate(predictions);
        Column p = greatest(lit(1e-15), expr("least(1D - 1e-15D, score)"));
        Row loss = predictions.agg(avg(when(col("label"), org.apache.spark.sql.functions.log(p))
                .otherwise(org.apache.spark.sql.functions.log(lit(1.0).minus(p)))).multiply(-1.0), count(lit(1))).first();
        write(List.of(RowFactory.create("auc", auc), RowFactory.create("log_loss", loss.getDouble(0))),
                new StructType().add("metric", DataTypes.StringType).add("value", DataTypes.DoubleType), table, day);
        return loss.getLong(1);
    }

    private long drift() {
        return drift(spark.read().format("delta").load(path("predictions")), "drift", null);
    }

    /** PSI and KS of every input and the score, the reference window vs {@code current}, into {@code table}. */
    private long drift(Dataset<Row> current, String table, LocalDate day) {
        PipelineModel model = PipelineModel.load(path("model"));
        Column score = org.apache.spark.ml.functions.vector_to_array(col("probability"), "float64").getItem(1).as("score");
        Dataset<Row> reference = model.transform(spark.read().format("delta").load(path("training_set"))
                .filter(days(referenceFrom, referenceTo))).withColumn("score", score);
        List<Row> out = new ArrayList<>();
        List<String> columns = new ArrayList<>(inputs());
        columns.removeIf(c -> c.endsWith("__missing"));
        columns.add("score");
        for (String c : columns) {
            for (var m : PerFeatureDrift.numeric(reference, current, c)) {
                out.add(RowFactory.create(c, m.metric(), m.value()));
            }
        }
        write(out, new StructType().add("column", DataTypes.StringType).add("metric", DataTypes.StringType)
                .add("value", DataTypes.DoubleType), table, day);
        return -1;
    }

    /** Rows into a table: the whole table replaced, or (a daily task) appended with their day. */
    private void write(List<Row> rows, StructType schema, String table, LocalDate day) {
        Dataset<Row> frame = spark.createDataFrame(rows, schema);
        if (day == null) {
            frame.write().format("delta").mode("overwrite").save(path(table));
        } else {
            frame.withColumn("day", lit(java.sql.Date.valueOf(day))).write().format("delta").mode("append").save(path(table));
        }
    }
}
