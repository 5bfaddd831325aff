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
