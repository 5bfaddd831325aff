package dev.kiln.reports;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.lakehouse.TestLakehouse;
import dev.kiln.reports.estimate.EstimateSums;
import dev.kiln.reports.estimate.PerformanceEstimator;
import dev.kiln.training.BinaryCurves;
import dev.kiln.training.decision.Decision;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/**
 * Performance estimated from calibrated scores: exact expectations on a case small enough to enumerate, the 95 %
 * band's coverage over 200 seeded draws of outcomes, the distributed sums equal to the in-memory arithmetic, a
 * constant number of Spark jobs, and a million distinct scores under the module's 8 MB driver result cap.
 */
class PerformanceEstimateTest {
    private static final SparkSession SPARK = TestLakehouse.get().spark();
    private static final Decision AT_HALF = new Decision("fixed 0.5", 0.5, true, Double.NaN, Double.NaN, Double.NaN);
    private static final List<String> METRICS = List.of("accuracy", "precision", "recall", "f1", "auc_roc");

    @Test
    void theEstimatesAreTheExpectationsOverEveryOutcome() {
        // Four events (0.2 twice): enumerate the 16 outcomes with their probabilities.
        double[] p = {0.9, 0.8, 0.2, 0.2};
        double accuracy = 0;
        double tp = 0;
        double pairs = 0;
        double positivesTimesNegatives = 0;
        for (int y = 0; y < 16; y++) {
            double prob = 1;
            int[] label = new int[4];
            for (int i = 0; i < 4; i++) {
                label[i] = (y >> i) & 1;
                prob *= label[i] == 1 ? p[i] : 1 - p[i];
            }
            int right = 0;
            int hits = 0;
            int positives = 0;
            double ordered = 0;
            for (int i = 0; i < 4; i++) {
                boolean predicted = p[i] >= 0.5;
                right += predicted == (label[i] == 1) ? 1 : 0;
                hits += predicted && label[i] == 1 ? 1 : 0;
                positives += label[i];
                for (int j = 0; j < 4; j++) {
                    if (label[i] == 1 && label[j] == 0) {
                        ordered += p[i] > p[j] ? 1 : p[i] == p[j] ? 0.5 : 0;
                    }
                }
            }
            accuracy += prob * right / 4.0;
            tp += prob * hits;
            pairs += prob * ordered;
            positivesTimesNegatives += prob * positives * (4 - positives);
        }
        Map<String, Double> e = estimates(EstimateSums.of(p, AT_HALF));
        assertEquals(accuracy, e.get("accuracy"), 1e-12);
        assertEquals(0.825, e.get("accuracy"), 1e-12); // (0.9 + 0.8 + 0.8 + 0.8) / 4
        assertEquals(tp / 2, e.get("precision"), 1e-12);
        assertEquals(1.7 / 2.1, e.get("recall"), 1e-12);
        assertEquals(2 * 1.7 / (2 + 2.1), e.get("f1"), 1e-12);
        assertEquals(pairs / positivesTimesNegatives, e.get("auc_roc"), 1e-12);
        assertEquals(3.06 / 3.42, e.get("auc_roc"), 1e-12);
    }

    @Test
    void theNominalNinetyFivePercentBandCoversTheRealizedValueInAtLeastNinetyPercentOfDraws() {
        int draws = 200;
        int n = 4000;
        Map<String, Integer> covered = new LinkedHashMap<>();
        Map<String, Double> error = new LinkedHashMap<>();
        for (int seed = 0; seed < draws; seed++) {
            Random random = new Random(seed);
            double[] scores = new double[n];
            boolean[] outcome = new boolean[n];
            for (int i = 0; i < n; i++) {
                double u = random.nextDouble();
                scores[i] = Math.round(u * u * 1000) / 1000.0; // skewed towards 0, with ties; calibrated by construction
                outcome[i] = random.nextDouble() < scores[i];
            }
            Decision decision = new Decision("fixed 0.3", 0.3, true, Double.NaN, Double.NaN, Double.NaN);
            Map<String, double[]> bands = bands(EstimateSums.of(scores, decision));
            Map<String, Double> realized = realized(scores, outcome, decision);
            for (String m : METRICS) {
                double[] b = bands.get(m);
                double r = realized.get(m);
                covered.merge(m, r >= b[1] && r <= b[2] ? 1 : 0, Integer::sum);
                error.merge(m, Math.abs(r - b[0]) / draws, Double::sum);
            }
        }
        System.out.println("estimate coverage of the 95% band over " + draws + " draws: " + covered + "; mean |realized - estimate|: " + error);
        for (String m : METRICS) {
            assertTrue(covered.get(m) >= 0.9 * draws, m + " covered in " + covered.get(m) + " of " + draws);
            assertTrue(error.get(m) < 0.02, m + " misses by " + error.get(m) + " on average");
        }
    }

    @Test
    void theDistributedSumsAreTheInMemoryArithmeticInAConstantNumberOfJobs() throws Exception {
        Random random = new Random(11);
        int n = 30_000;
        List<Row> rows = new ArrayList<>();
        List<List<Double>> bySlice = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        for (int i = 0; i < n; i++) {
            double s = Math.round(random.nextDouble() * 2000) / 2000.0;
            int slice = 1 + i % 2;
            rows.add(org.apache.spark.sql.RowFactory.create(0, s));
            rows.add(org.apache.spark.sql.RowFactory.create(slice, s));
            bySlice.get(0).add(s);
            bySlice.get(slice).add(s);
        }
        Dataset<Row> df = SPARK.createDataFrame(rows, new org.apache.spark.sql.types.StructType()
                .add("__slice", "int").add("score", "double")).repartition(6);
        String partitions = SPARK.conf().get("spark.sql.shuffle.partitions");
        SPARK.conf().set("spark.sql.shuffle.partitions", "7");
        try {
            Map<Integer, EstimateSums> sums = PerformanceEstimator.sums(df, AT_HALF);
            for (int k = 0; k < 3; k++) {
                Map<String, Double> distributed = estimates(sums.get(k));
                Map<String, Double> memory = estimates(EstimateSums.of(bySlice.get(k).stream().mapToDouble(Double::doubleValue)
                        .toArray(), AT_HALF));
                for (String m : METRICS) {
                    assertEquals(memory.get(m), distributed.get(m), 1e-12, "slice " + k + " " + m);
                }
            }
            int small = jobs(SPARK.sql("SELECT 0 AS __slice, (id % 50) / 50D AS score FROM range(1000)"), "estimate-small");
            int large = jobs(SPARK.sql("SELECT explode(array(0, 1 + id % 40)) AS __slice, (id % 4999) / 4999D AS score"
                    + " FROM range(300000)"), "estimate-large");
            System.out.println("estimate: " + small + " Spark jobs for 1,000 rows in 1 slice, " + large + " for 600,000 rows in"
                    + " 41 slices");
            assertEquals(small, large);
        } finally {
            SPARK.conf().set("spark.sql.shuffle.partitions", partitions);
        }
    }

    @Test
    void aMillionDistinctScoresStayDistributed() {
        assertEquals("8m", SPARK.sparkContext().getConf().get("spark.driver.maxResultSize", "unset"));
        long n = 1_000_000;
        Dataset<Row> rows = SPARK.sql("SELECT id % 3 AS __slice, (id + 0.5D) / " + n + " AS score FROM range(0, " + n + ", 1, 4)");
        Map<Integer, EstimateSums> sums = PerformanceEstimator.sums(rows, AT_HALF);
        assertEquals(3, sums.size());
        // Scores spread evenly over (0, 1): expected precision is the mean score above 0.5, 0.75.
        assertEquals(0.75, estimates(sums.get(0)).get("precision"), 1e-4);
    }

    private static int jobs(Dataset<Row> rows, String group) throws Exception {
        SPARK.sparkContext().setJobGroup(group, "counting jobs", false);
        try {
            PerformanceEstimator.sums(rows, AT_HALF);
        } finally {
            SPARK.sparkContext().clearJobGroup();
        }
        SPARK.sparkContext().listenerBus().waitUntilEmpty();
        return SPARK.sparkContext().statusTracker().getJobIdsForGroup(group).length;
    }

    private static Map<String, Double> estimates(EstimateSums sums) {
        Map<String, Double> out = new LinkedHashMap<>();
        sums.metrics().forEach(e -> out.put(e.metric(), e.estimate()));
        return out;
    }

    private static Map<String, double[]> bands(EstimateSums sums) {
        Map<String, double[]> out = new LinkedHashMap<>();
        sums.metrics().forEach(e -> out.put(e.metric(), new double[] {e.estimate(), e.lower(), e.upper()}));
        return out;
    }

    /** The metrics the outcomes give, at the decision; AUC exact over every distinct score. */
    private static Map<String, Double> realized(double[] scores, boolean[] outcome, Decision decision) {
        long tp = 0;
        long fp = 0;
        long fn = 0;
        long tn = 0;
        List<BinaryCurves.Point> points = new ArrayList<>();
        for (int i = 0; i < scores.length; i++) {
            boolean predicted = decision.positive(scores[i]);
            tp += predicted && outcome[i] ? 1 : 0;
            fp += predicted && !outcome[i] ? 1 : 0;
            fn += !predicted && outcome[i] ? 1 : 0;
            tn += !predicted && !outcome[i] ? 1 : 0;
            points.add(new BinaryCurves.Point(scores[i], outcome[i] ? 1 : 0, 1));
        }
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("accuracy", (double) (tp + tn) / scores.length);
        out.put("precision", (double) tp / (tp + fp));
        out.put("recall", (double) tp / (tp + fn));
        out.put("f1", 2.0 * tp / (2 * tp + fp + fn));
        out.put("auc_roc", BinaryCurves.of(points.toArray(BinaryCurves.Point[]::new)).roc());
        return out;
    }
}
