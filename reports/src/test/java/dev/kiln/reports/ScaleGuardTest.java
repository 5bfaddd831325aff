package dev.kiln.reports;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.lakehouse.TestLakehouse;
import dev.kiln.reports.drift.DriftStatistics;
import dev.kiln.reports.evaluation.EvaluationMetric;
import dev.kiln.reports.evaluation.Evaluator;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Scale guards: drift statistics, the data profile and evaluation over millions of distinct values, with the
 * driver taking at most 8 MB of task results (this module's surefire setting) and no stage's shuffle data read
 * by one task. Collecting the rows or the distinct values to the driver fails the first check; merging a column's
 * distinct values in one task (one place) fails the second. Values are checked against closed forms.
 */
class ScaleGuardTest {
    private static final SparkSession SPARK = TestLakehouse.get().spark();
    private static final long N = 1_000_000;

    @BeforeAll
    static void cappedDriver() {
        assertEquals("8m", SPARK.sparkContext().getConf().get("spark.driver.maxResultSize", "unset"),
                "run through this module's surefire configuration (kiln.test.driverMaxResultSize=8m)");
    }

    /** Runs {@code work} with 4 shuffle partitions that adaptive execution may not merge; returns the spread. */
    private static List<String> spread(Runnable work) {
        String partitions = SPARK.conf().get("spark.sql.shuffle.partitions");
        String coalesce = SPARK.conf().get("spark.sql.adaptive.coalescePartitions.enabled");
        SPARK.conf().set("spark.sql.shuffle.partitions", "4");
        SPARK.conf().set("spark.sql.adaptive.coalescePartitions.enabled", "false");
        try (ShuffleSpread s = new ShuffleSpread(SPARK.sparkContext())) {
            work.run();
            assertTrue(s.stagesReadingMoreThan(4 << 20) > 0, "the guard saw no shuffle of the distinct values");
            return s.concentrated(4 << 20, 0.75);
        } finally {
            SPARK.conf().set("spark.sql.shuffle.partitions", partitions);
            SPARK.conf().set("spark.sql.adaptive.coalescePartitions.enabled", coalesce);
        }
    }

    @Test
    void driftAndProfileOfMillionsOfDistinctValuesStayDistributed() {
        // v: 1 M distinct doubles, the first half the reference; c: 500 000 categories, each once in each window.
        Dataset<Row> data = SPARK.sql("SELECT id, id * 0.001D + 0.5D AS v, concat('k', CAST(id % 500000 AS STRING)) AS c"
                + " FROM range(0, " + N + ", 1, 4)");
        Dataset<Row> reference = data.filter("id < " + N / 2);
        Dataset<Row> current = data.filter("id >= " + N / 2);
        // One column at a time: merging a column's values in one task then shows as one task reading everything.
        DriftStatistics.Result[] result = new DriftStatistics.Result[2];
        assertEquals(List.of(), spread(() -> result[0] = DriftStatistics.compute(reference, current, List.of("v"), List.of())),
                "a step held all distinct values of a numeric column in one task");
        assertEquals(List.of(), spread(() -> result[1] = DriftStatistics.compute(reference, current, List.of(), List.of("c"))),
                "a step held all categories of a column in one task");
        DriftStatistics.Result r = result[0];
        DriftStatistics.Result categories = result[1];
        long half = N / 2;
        assertEquals(half, r.referenceRows());
        assertEquals((double) half, profile(r, "reference", "v", "distinct"));
        assertEquals(0.5, profile(r, "reference", "v", "min"));
        assertEquals((half - 1) * 0.001 + 0.5, profile(r, "reference", "v", "max"));
        assertEquals((half / 2 - 1) * 0.001 + 0.5, profile(r, "reference", "v", "p50")); // the 250 000th value
        assertEquals((half + half * 99 / 100 - 1) * 0.001 + 0.5, profile(r, "current", "v", "p99"));
        assertEquals((half - 1) * 0.001 / 2 + 0.5, profile(r, "reference", "v", "mean"), 1e-9);
        assertEquals(1.0, drift(r, "v", "ks"), 1e-12); // the windows do not overlap
        assertEquals(500_000.0, profile(categories, "current", "c", "distinct"));
        assertEquals(0.0, drift(categories, "c", "unseen_share"));
        assertEquals(0.0, drift(categories, "c", "js_distance"), 1e-9);
        // Every category once: ties broken by byte order.
        assertEquals(List.of("k0", "k1", "k10", "k100", "k1000"), List.of(1, 2, 3, 4, 5).stream()
                .map(i -> categories.profile().stream().filter(p -> p.window().equals("current") && p.statistic().equals("top_" + i))
                        .findFirst().orElseThrow().text()).toList());
    }

    @Test
    void evaluationOfMillionsOfDistinctScoresOverManySlicesStaysDistributed() {
        // 1 M distinct scores, each event in three slices (3 M slice rows), ascending with id; every 4th event is
        // positive: a positive at 4j outranks exactly 3j negatives.
        long n = N;
        Dataset<Row> rows = SPARK.sql("SELECT (id + 0.5D) / " + n + " AS score, 1L AS n, CAST(id % 4 = 0 AS BIGINT) AS positives,"
                + " CAST(id % 41 AS STRING) AS origin, id % 37 AS destination FROM range(0, " + n + ", 1, 4)");
        List<EvaluationMetric> metrics = new java.util.ArrayList<>();
        List<String> concentrated = spread(() -> metrics.addAll(Evaluator.metrics(rows, List.of("origin", "destination"), 20, true, 0.5)));
        assertEquals(List.of(), concentrated, "a step held all distinct scores in one task");
        double positives = n / 4.0;
        assertEquals((positives - 1) / (2 * positives), value(metrics, "overall", "auc_roc"), 1e-9);
        assertEquals(1 + 20 + 20, metrics.stream().map(EvaluationMetric::slice).distinct().count());
        // origin=0 holds ids 0, 41, 82, ...: the positives among them are the multiples of 164.
        assertEquals(Math.ceil(n / 164.0) / Math.ceil(n / 41.0), value(metrics, "origin=0", "positive_rate"), 1e-12);
        assertNull(metrics.stream().filter(m -> m.slice().equals("origin=40")).findFirst().orElse(null),
                "origin=40 is not among the top 20");
    }

    private static Double value(List<EvaluationMetric> metrics, String slice, String metric) {
        return metrics.stream().filter(m -> m.slice().equals(slice) && m.metric().equals(metric)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + metric + " of " + slice)).value();
    }

    private static Double profile(DriftStatistics.Result r, String window, String column, String statistic) {
        return r.profile().stream().filter(p -> p.window().equals(window) && p.column().equals(column)
                && p.statistic().equals(statistic)).findFirst().orElseThrow().value();
    }

    private static Double drift(DriftStatistics.Result r, String column, String metric) {
        return r.drift().stream().filter(m -> m.column().equals(column) && m.metric().equals(metric)).findFirst()
                .orElseThrow().value();
    }
}
