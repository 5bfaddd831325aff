package dev.kiln.reports;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.kiln.lakehouse.TestLakehouse;
import dev.kiln.reports.evaluation.EvaluationMetric;
import dev.kiln.reports.evaluation.Evaluator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/** Evaluation metrics against values worked out by hand. */
class EvaluatorTest {
    private static final SparkSession SPARK = TestLakehouse.get().spark();

    private static Map<String, Double> values(List<EvaluationMetric> metrics) {
        return metrics.stream().filter(m -> m.value() != null).collect(Collectors.toMap(EvaluationMetric::metric, EvaluationMetric::value));
    }

    @Test
    void binaryMetricsMatchTheHandComputedValues() {
        Dataset<Row> rows = SPARK.sql("SELECT * FROM VALUES (0.9D, 1L, 1L), (0.8D, 1L, 0L), (0.7D, 1L, 1L), (0.6D, 1L, 1L),"
                + " (0.5D, 1L, 0L) AS t(score, n, positives)");
        Map<String, Double> v = values(Evaluator.binary("overall", rows, 0.5));
        assertEquals(2.0 / 3, v.get("auc_roc"), 1e-12);
        assertEquals(55.0 / 72, v.get("auc_pr"), 1e-12);
        assertEquals(-(Math.log(0.9) + Math.log(0.2) + Math.log(0.7) + Math.log(0.6) + Math.log(0.5)) / 5, v.get("log_loss"), 1e-12);
        assertEquals(0.23, v.get("brier"), 1e-12);
        assertEquals(0.8, v.get("accuracy"), 1e-12);     // 0.5 is not above the threshold: one true negative
        assertEquals(0.75, v.get("precision"), 1e-12);
        assertEquals(1.0, v.get("recall"), 1e-12);
        assertEquals(6.0 / 7, v.get("f1"), 1e-12);
        assertEquals(0.6, v.get("positive_rate"), 1e-12);
        assertEquals(0.9, v.get("calibration_0.9_1.0_predicted"), 1e-12);
        assertEquals(0.0, v.get("calibration_0.8_0.9_observed"), 1e-12);

        // Rows standing for several identical events weigh accordingly: doubling every row changes nothing.
        Dataset<Row> doubled = rows.selectExpr("score", "n * 2 AS n", "positives * 2 AS positives");
        Map<String, Double> w = values(Evaluator.binary("overall", doubled, 0.5));
        for (String k : v.keySet()) {
            assertEquals(v.get(k), w.get(k), 1e-12, k);
        }
        // One class only: no curve, no precision; the rest still holds.
        List<EvaluationMetric> onlyNegatives = Evaluator.binary("x", SPARK.sql("SELECT * FROM VALUES (0.2D, 3L, 0L), (0.7D, 1L, 0L)"
                + " AS t(score, n, positives)"), 0.5);
        assertNull(onlyNegatives.stream().filter(m -> m.metric().equals("auc_roc")).findFirst().orElseThrow().value());
        assertNull(onlyNegatives.stream().filter(m -> m.metric().equals("recall")).findFirst().orElseThrow().value());
        assertEquals(0.75, values(onlyNegatives).get("accuracy"), 1e-12);
    }

    @Test
    void curvePointsAreTheExactCurveAtEveryKeptThreshold() {
        // The same five events with a stored threshold of 0.6 (at or above): TP 3, FP 1, FN 0.
        Dataset<Row> rows = SPARK.sql("SELECT * FROM VALUES (0.9D, 1L, 1L), (0.8D, 1L, 0L), (0.7D, 1L, 1L), (0.6D, 1L, 1L),"
                + " (0.5D, 1L, 0L) AS t(score, n, positives)");
        Evaluator.Evaluation e = Evaluator.evaluation(rows, List.of(), 0, true,
                new dev.kiln.training.decision.Decision("max-f1", 0.6, true, 0.75, 1.0, 6.0 / 7));
        Map<String, Double> v = values(e.metrics());
        assertEquals(0.6, v.get("threshold"));
        assertEquals(0.75, v.get("precision"), 1e-12);
        assertEquals(1.0, v.get("recall"), 1e-12);
        assertEquals(0.8, v.get("accuracy"), 1e-12);
        // Five distinct scores, all kept: (TP, FP) 1,0 1,1 2,1 3,1 3,2 of 3 positives and 2 negatives.
        long[][] want = {{1, 0}, {1, 1}, {2, 1}, {3, 1}, {3, 2}};
        double[] thresholds = {0.9, 0.8, 0.7, 0.6, 0.5};
        assertEquals(5, e.curves().size());
        for (int i = 0; i < want.length; i++) {
            dev.kiln.reports.evaluation.CurvePoint c = e.curves().get(i);
            assertEquals("overall", c.slice());
            assertEquals(i, c.point());
            assertEquals(thresholds[i], c.threshold());
            assertEquals(want[i][0], c.truePositives());
            assertEquals(want[i][1], c.falsePositives());
            assertEquals(want[i][0] / 3.0, c.recall(), 1e-12);
            assertEquals(want[i][1] / 2.0, c.falsePositiveRate(), 1e-12);
            assertEquals((double) want[i][0] / (want[i][0] + want[i][1]), c.precision(), 1e-12);
        }
    }

    @Test
    void aLongCurveKeepsTwoHundredExactPointsIncludingBothEnds() {
        // 1,000 distinct scores in two slices: each slice keeps 200 points, its first and last score among them, and
        // every kept point's counts are those of the full walk down the scores.
        Dataset<Row> rows = SPARK.range(2000).selectExpr("CAST(id % 2 AS STRING) AS s", "(id DIV 2) / 1000D AS score",
                "1L AS n", "CAST((id * 7919) % 3 = 0 AS LONG) AS positives").repartition(5);
        Evaluator.Evaluation e = Evaluator.evaluation(rows, List.of("s"), 2, true, dev.kiln.training.decision.Decision.above(0.5));
        List<Row> all = rows.orderBy(org.apache.spark.sql.functions.col("score").desc()).collectAsList();
        for (String slice : List.of("overall", "s=0", "s=1")) {
            List<dev.kiln.reports.evaluation.CurvePoint> points = e.curves().stream().filter(c -> c.slice().equals(slice)).toList();
            assertEquals(200, points.size(), slice);
            assertEquals(0.999, points.get(0).threshold(), slice);
            assertEquals(0.0, points.get(199).threshold(), slice);
            for (dev.kiln.reports.evaluation.CurvePoint c : points) {
                long tp = 0;
                long fp = 0;
                for (Row r : all) {
                    if ((slice.equals("overall") || slice.equals("s=" + r.getString(0))) && r.getDouble(1) >= c.threshold()) {
                        tp += r.getLong(3);
                        fp += 1 - r.getLong(3);
                    }
                }
                assertEquals(tp, c.truePositives(), slice + " at " + c.threshold());
                assertEquals(fp, c.falsePositives(), slice + " at " + c.threshold());
            }
        }
    }

    @Test
    void regressionMetricsMatchTheHandComputedValues() {
        // Predictions 2 for labels 1 and 3, 5 for label 5: errors -1, 1, 0.
        Dataset<Row> rows = SPARK.sql("SELECT * FROM VALUES (2D, 1L, 1D), (2D, 1L, 3D), (5D, 1L, 5D) AS t(score, n, label)");
        Map<String, Double> v = values(Evaluator.regression("overall", rows));
        assertEquals(Math.sqrt(2.0 / 3), v.get("rmse"), 1e-12);
        assertEquals(2.0 / 3, v.get("mae"), 1e-12);
        assertEquals(0.75, v.get("r2"), 1e-12);
        // A row standing for two identical events weighs twice: errors -1, -1, 1, 0.
        Map<String, Double> w = values(Evaluator.regression("overall", SPARK.sql("SELECT * FROM VALUES (2D, 2L, 1D), (2D, 1L, 3D),"
                + " (5D, 1L, 5D) AS t(score, n, label)")));
        assertEquals(Math.sqrt(3.0 / 4), w.get("rmse"), 1e-12);
        assertEquals(3.0 / 4, w.get("mae"), 1e-12);
    }

    /**
     * {@code --slice-by origin --slice-by destination --top 20} takes as many Spark jobs as {@code --top 2}: all
     * slices are measured together, not a few jobs per slice value.
     */
    @Test
    void theNumberOfSparkJobsDoesNotGrowWithTheSlices() throws Exception {
        int two = jobs(2);
        int twenty = jobs(20);
        System.out.println("evaluate --slice-by origin --slice-by destination: " + two + " Spark jobs with --top 2, "
                + twenty + " with --top 20");
        assertEquals(two, twenty);
    }

    private static int jobs(int top) throws Exception {
        Dataset<Row> rows = SPARK.sql("SELECT (id % 97) / 97D AS score, 1L AS n, CAST(id % 3 = 0 AS BIGINT) AS positives,"
                + " concat('o', CAST(id % 25 AS STRING)) AS origin, concat('d', CAST(id % 30 AS STRING)) AS destination"
                + " FROM range(3000)");
        String group = "evaluate-jobs-" + top;
        SPARK.sparkContext().setJobGroup(group, "counting jobs", false);
        List<EvaluationMetric> metrics;
        try {
            metrics = Evaluator.metrics(rows, List.of("origin", "destination"), top, true, 0.5);
        } finally {
            SPARK.sparkContext().clearJobGroup();
        }
        assertEquals(1 + 2 * top, metrics.stream().map(EvaluationMetric::slice).distinct().count());
        // A slice measured with the others is the slice measured alone (o3 is 19th of the 25 tied origins by value).
        if (top < 20) {
            return jobCount(group);
        }
        Map<String, Double> alone = values(Evaluator.binary("origin=o3", rows.filter("origin = 'o3'"), 0.5));
        Map<String, Double> together = values(metrics.stream().filter(m -> m.slice().equals("origin=o3")).toList());
        assertEquals(alone.keySet(), together.keySet());
        alone.forEach((k, v) -> assertEquals(v, together.get(k), 1e-12, k));
        return jobCount(group);
    }

    private static int jobCount(String group) throws Exception {
        SPARK.sparkContext().listenerBus().waitUntilEmpty();
        return SPARK.sparkContext().statusTracker().getJobIdsForGroup(group).length;
    }
}
