package dev.kiln.training;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kiln.lakehouse.TestLakehouse;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/**
 * Scale guard of the validation metrics: 1.5 M distinct scores with the driver taking at most 8 MB of task
 * results (this module's surefire setting), so collecting the scores fails. The areas equal the sequential walk
 * over every point on the driver, and the metrics are the same to the bit however the predictions are partitioned
 * (what {@code kiln train --reproduce} compares).
 */
class TrainerScaleGuardTest {
    private static final SparkSession SPARK = TestLakehouse.get().spark();
    private static final int N = 1_500_000;

    private static Dataset<Row> predictions(int partitions) {
        // Scores ascend with id, every 4th event is positive; predicted 1 above 0.5.
        return SPARK.sql("SELECT array(1 - s, s) AS p, CAST(s > 0.5 AS DOUBLE) AS prediction,"
                + " CAST(id % 4 = 0 AS DOUBLE) AS " + Trainer.LABEL + " FROM (SELECT id, (id + 0.5D) / " + N + " AS s"
                + " FROM range(0, " + N + ", 1, " + partitions + "))")
                .withColumn("probability", org.apache.spark.ml.functions.array_to_vector(org.apache.spark.sql.functions.col("p")))
                .drop("p");
    }

    @Test
    void validationMetricsOfMillionsOfDistinctScoresStayDistributedAndExact() {
        assertEquals("8m", SPARK.sparkContext().getConf().get("spark.driver.maxResultSize", "unset"),
                "run through this module's surefire configuration (kiln.test.driverMaxResultSize=8m)");
        Map<String, Double> metrics = Trainer.classificationMetrics(predictions(4));
        BinaryCurves.Point[] points = new BinaryCurves.Point[N];
        for (int id = 0; id < N; id++) {
            points[id] = new BinaryCurves.Point((id + 0.5) / N, id % 4 == 0 ? 1 : 0, 1);
        }
        BinaryCurves.Areas sequential = BinaryCurves.of(points);
        double positives = N / 4.0;
        assertEquals((positives - 1) / (2 * positives), metrics.get("areaUnderROC"), 1e-9);
        assertEquals(sequential.roc(), metrics.get("areaUnderROC"), 1e-9);
        assertEquals(sequential.pr(), metrics.get("areaUnderPR"), 1e-9);
        Row sql = predictions(4).select(org.apache.spark.ml.functions.vector_to_array(
                        org.apache.spark.sql.functions.col("probability"), "float64").getItem(1).as("s"),
                        org.apache.spark.sql.functions.col("prediction"), org.apache.spark.sql.functions.col(Trainer.LABEL).as("y"))
                .selectExpr("avg(CASE WHEN y = 1 THEN -ln(greatest(1e-15D, least(1 - 1e-15D, s)))"
                        + " ELSE -ln(greatest(1e-15D, least(1 - 1e-15D, 1 - s))) END)", "avg(CAST(prediction = y AS INT))").first();
        assertEquals(sql.getDouble(0), metrics.get("logLoss"), 1e-9);
        assertEquals(sql.getDouble(1), metrics.get("accuracy"), 1e-12);
        // Another partitioning of the same predictions: the same values to the bit.
        assertEquals(metrics, Trainer.classificationMetrics(predictions(7)));
    }
}
