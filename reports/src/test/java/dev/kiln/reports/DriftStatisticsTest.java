package dev.kiln.reports;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.TestLakehouse;
import dev.kiln.reports.drift.DriftStatistics;
import dev.kiln.reports.drift.DriftStatistics.Result;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/** Drift statistics and profiles against values worked out by hand, edge cases included. */
class DriftStatisticsTest {
    private static final SparkSession SPARK = TestLakehouse.get().spark();

    // x: 1..10 in the reference; 2, 4, 6, 11 and a null in the current window.
    // k: constant 5 in the reference, then a 7. z: all null. cat: a a a a a b b b null null | a c c b null.
    private static final Dataset<Row> REFERENCE = SPARK.sql("SELECT * FROM VALUES"
            + " (1D, 5D, CAST(NULL AS DOUBLE), 'a'), (2D, 5D, NULL, 'a'), (3D, 5D, NULL, 'a'), (4D, 5D, NULL, 'a'),"
            + " (5D, 5D, NULL, 'a'), (6D, 5D, NULL, 'b'), (7D, 5D, NULL, 'b'), (8D, 5D, NULL, 'b'), (9D, 5D, NULL, NULL),"
            + " (10D, 5D, NULL, NULL) AS t(x, k, z, cat)");
    private static final Dataset<Row> CURRENT = SPARK.sql("SELECT * FROM VALUES"
            + " (2D, 5D, CAST(NULL AS DOUBLE), 'a'), (4D, 5D, NULL, 'c'), (6D, 5D, NULL, 'c'), (11D, 5D, NULL, 'b'),"
            + " (CAST(NULL AS DOUBLE), 7D, NULL, NULL) AS t(x, k, z, cat)");

    private static Double drift(Result r, String column, String metric) {
        return r.drift().stream().filter(m -> m.column().equals(column) && m.metric().equals(metric)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + metric + " of " + column)).value();
    }

    private static DriftStatistics.ProfileValue profile(Result r, String window, String column, String statistic) {
        return r.profile().stream().filter(p -> p.window().equals(window) && p.column().equals(column)
                && p.statistic().equals(statistic)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + statistic + " of " + column + " in " + window));
    }

    private static double log2(double x) {
        return Math.log(x) / Math.log(2);
    }

    @Test
    void numericStatisticsMatchTheHandComputedValues() {
        Result r = DriftStatistics.compute(REFERENCE, CURRENT, List.of("x", "k", "z"), List.of("cat"));
        assertEquals(10, r.referenceRows());
        assertEquals(5, r.currentRows());

        double stdRef = Math.sqrt(55.0 / 6);
        double stdCur = Math.sqrt(44.75 / 3);
        assertEquals(0.25 / stdRef, drift(r, "x", "mean_shift"), 1e-12);
        assertEquals((stdCur - stdRef) / stdRef, drift(r, "x", "std_shift"), 1e-12);
        assertEquals(0.2, drift(r, "x", "null_rate_change"), 1e-12);
        assertEquals(0.25, drift(r, "x", "ks"), 1e-12);
        // Reference deciles 1..9 make ten bins of one reference value each; the current values fall in four.
        double floor = DriftStatistics.PSI_FLOOR;
        assertEquals(4 * (0.25 - 0.1) * Math.log(0.25 / 0.1) + 6 * (floor - 0.1) * Math.log(floor / 0.1),
                drift(r, "x", "psi"), 1e-12);
        assertEquals(5.5, profile(r, "reference", "x", "mean").value(), 1e-12);
        assertEquals(stdCur, profile(r, "current", "x", "std").value(), 1e-12);
        assertEquals(1.0, profile(r, "current", "x", "nulls").value());
        assertEquals(11.0, profile(r, "current", "x", "max").value());
        assertEquals(10.0, profile(r, "reference", "x", "distinct").value());
        assertEquals(4.0, profile(r, "current", "x", "distinct").value());
        assertEquals(3.0, profile(r, "reference", "x", "p25").value());
        assertEquals(5.0, profile(r, "reference", "x", "p50").value());
        assertEquals(8.0, profile(r, "reference", "x", "p75").value());
        assertEquals(10.0, profile(r, "reference", "x", "p95").value());
        assertEquals(2.0, profile(r, "current", "x", "p25").value());
        assertEquals(4.0, profile(r, "current", "x", "p50").value());
        assertEquals(11.0, profile(r, "current", "x", "p95").value());

        // A column constant in the reference: no scale for the shifts; KS and PSI still see the 7.
        assertNull(drift(r, "k", "mean_shift"));
        assertNull(drift(r, "k", "std_shift"));
        assertEquals(0.2, drift(r, "k", "ks"), 1e-12);
        assertEquals((0.8 - 1.0) * Math.log(0.8) + (0.2 - floor) * Math.log(0.2 / floor), drift(r, "k", "psi"), 1e-12);

        // All null in both windows: only the null rate is defined.
        assertEquals(0.0, drift(r, "z", "null_rate_change"), 1e-12);
        assertNull(drift(r, "z", "ks"));
        assertNull(drift(r, "z", "psi"));
        assertNull(drift(r, "z", "mean_shift"));
        assertEquals(1.0, profile(r, "reference", "z", "null_rate").value(), 1e-12);
        assertEquals(0.0, profile(r, "reference", "z", "distinct").value());
        assertNull(profile(r, "reference", "z", "p50").value());

        // Histograms: x spans 1..11 over both windows, 20 bins of width 0.5 shared by both windows.
        List<DriftStatistics.BinCount> x = bins(r, "x");
        assertEquals(40, x.size());
        long[] ref = new long[20];
        long[] cur = new long[20];
        for (DriftStatistics.BinCount b : x) {
            assertEquals(1 + 0.5 * b.bin(), b.lower(), 1e-12);
            assertEquals(b.bin() == 19 ? 11.0 : 1.5 + 0.5 * b.bin(), b.upper(), 1e-12);
            (b.window().equals("reference") ? ref : cur)[b.bin()] = b.count();
        }
        // Reference 1..10 -> bins 0, 2, .., 18; current 2, 4, 6 -> bins 2, 6, 10, and 11 (the maximum) -> the last bin.
        for (int b = 0; b < 20; b++) {
            assertEquals(b % 2 == 0 && b <= 18 ? 1 : 0, ref[b], "reference bin " + b);
            assertEquals(b == 2 || b == 6 || b == 10 || b == 19 ? 1 : 0, cur[b], "current bin " + b);
        }
        // A constant reference plus one 7: still 20 bins from 5 to 7; all-null z: none; categorical: none.
        assertEquals(10, bins(r, "k").stream().filter(b -> b.window().equals("reference") && b.bin() == 0)
                .mapToLong(DriftStatistics.BinCount::count).sum());
        assertEquals(1, bins(r, "k").stream().filter(b -> b.window().equals("current") && b.bin() == 19)
                .mapToLong(DriftStatistics.BinCount::count).sum());
        assertTrue(bins(r, "z").isEmpty());
        assertTrue(bins(r, "cat").isEmpty());
    }

    @Test
    void histogramBinsCoverTheMeanPlusMinusFourStandardDeviationsAndOutliersCountInTheEndBins() {
        // 0..98 in both windows and one 100000 in the current one: the bins stop at mean + 4 sd, not at 100000.
        Result r = DriftStatistics.compute(SPARK.sql("SELECT CAST(id AS DOUBLE) AS v FROM range(99)"),
                SPARK.sql("SELECT CAST(id AS DOUBLE) AS v FROM range(99) UNION ALL SELECT 100000D"), List.of("v"), List.of());
        double n = 199;
        double mean = (2 * 4851 + 100000) / n;
        double sd = Math.sqrt((2 * 318549 + 1e10) / n - mean * mean);
        List<DriftStatistics.BinCount> v = bins(r, "v");
        assertEquals(40, v.size());
        assertEquals(0.0, v.get(0).lower());
        assertEquals(mean + 4 * sd, v.get(19).upper(), 1e-6);
        // (mean + 4 sd) / 20 is about 1441: every value of 0..98 is in the first bin, the outlier in the last.
        for (DriftStatistics.BinCount b : v) {
            long expected = b.bin() == 0 ? 99 : b.bin() == 19 && b.window().equals("current") ? 1 : 0;
            assertEquals(expected, b.count(), b.toString());
        }
    }

    private static List<DriftStatistics.BinCount> bins(Result r, String column) {
        return r.bins().stream().filter(b -> b.column().equals(column)).toList();
    }

    @Test
    void categoricalStatisticsMatchTheHandComputedValues() {
        Result r = DriftStatistics.compute(REFERENCE, CURRENT, List.of(), List.of("cat"));
        // Reference shares a 5/8, b 3/8; current a 1/4, b 1/4, c 1/2 (c never seen in the reference).
        double divergence = 0.5 * (5.0 / 8 * log2((5.0 / 8) / (7.0 / 16)) + 3.0 / 8 * log2((3.0 / 8) / (5.0 / 16)))
                + 0.5 * (0.25 * log2(0.25 / (7.0 / 16)) + 0.25 * log2(0.25 / (5.0 / 16)) + 0.5 * log2(0.5 / 0.25));
        assertEquals(Math.sqrt(divergence), drift(r, "cat", "js_distance"), 1e-12);
        assertEquals(0.75 + 0.125 + 4.0, drift(r, "cat", "chi_square"), 1e-9);
        assertEquals(0.5, drift(r, "cat", "unseen_share"), 1e-12);
        assertEquals(0.0, drift(r, "cat", "null_rate_change"), 1e-12);
        assertEquals(2.0, profile(r, "reference", "cat", "distinct").value());
        assertEquals(3.0, profile(r, "current", "cat", "distinct").value());
        assertEquals("a", profile(r, "reference", "cat", "top_1").text());
        assertEquals(5.0, profile(r, "reference", "cat", "top_1").value());
        assertEquals("c", profile(r, "current", "cat", "top_1").text());
        assertEquals("a", profile(r, "current", "cat", "top_2").text()); // ties broken by value
        assertEquals("b", profile(r, "current", "cat", "top_3").text());
    }

    @Test
    void anEmptyWindowOrAMissingColumnIsAClearError() {
        KilnException empty = assertThrows(KilnException.class,
                () -> DriftStatistics.compute(REFERENCE, CURRENT.filter("x > 100"), List.of("x"), List.of()));
        assertEquals("the current window has no rows", empty.getMessage());
        KilnException missing = assertThrows(KilnException.class,
                () -> DriftStatistics.compute(REFERENCE, CURRENT.drop("k"), List.of("x", "k"), List.of()));
        assertTrue(missing.getMessage().startsWith("the current data has no column 'k'"), missing.getMessage());
    }

    @Test
    void oneTaggedInputGivesTheSameResultAsTwoWindows() {
        Dataset<Row> both = REFERENCE.withColumn("t", org.apache.spark.sql.functions.lit(0))
                .unionByName(CURRENT.withColumn("t", org.apache.spark.sql.functions.lit(1)))
                .unionByName(CURRENT.withColumn("t", org.apache.spark.sql.functions.lit(2))); // in neither window
        Column window = org.apache.spark.sql.functions.when(both.col("t").lt(2), both.col("t"));
        Result tagged = DriftStatistics.compute(both, window, List.of("x", "k", "z"), List.of("cat"));
        Result separate = DriftStatistics.compute(REFERENCE, CURRENT, List.of("x", "k", "z"), List.of("cat"));
        assertEquals(separate, tagged);
    }

    /** Thousands of distinct values spread over partitions (the counts grow and merge), checked against SQL. */
    @Test
    void manyDistinctValuesOverSeveralPartitionsMatchSql() {
        // -0.0 and 0.0 are one value; every 7th row is null; values repeat across the 4 partitions.
        Dataset<Row> data = SPARK.sql("SELECT id, CASE WHEN id % 7 = 0 THEN NULL WHEN id % 1000 = 1 THEN -0.0D"
                + " ELSE CAST(id % 2999 AS DOUBLE) * 0.25 - 100 END AS v FROM range(0, 20000, 1, 4)");
        Dataset<Row> reference = data.filter("id < 12000");
        Dataset<Row> current = data.filter("id >= 12000");
        Result r = DriftStatistics.compute(reference, current, List.of("v"), List.of());
        for (var w : List.of(java.util.Map.entry("reference", reference), java.util.Map.entry("current", current))) {
            Row sql = w.getValue().selectExpr("count(*)", "count(v)", "count(DISTINCT v)", "avg(v)", "stddev_samp(v)", "min(v)",
                    "max(v)").first();
            assertEquals((double) sql.getLong(0), profile(r, w.getKey(), "v", "count").value());
            assertEquals((double) (sql.getLong(0) - sql.getLong(1)), profile(r, w.getKey(), "v", "nulls").value());
            assertEquals((double) sql.getLong(2), profile(r, w.getKey(), "v", "distinct").value());
            assertEquals(sql.getDouble(3), profile(r, w.getKey(), "v", "mean").value(), 1e-9);
            assertEquals(sql.getDouble(4), profile(r, w.getKey(), "v", "std").value(), 1e-9);
            assertEquals(sql.getDouble(5), profile(r, w.getKey(), "v", "min").value());
            assertEquals(sql.getDouble(6), profile(r, w.getKey(), "v", "max").value());
            // The median by its definition: the smallest value with at least half of the values at or below it.
            Row median = w.getValue().filter("v IS NOT NULL").selectExpr("v", "count(*) OVER (ORDER BY v) AS below",
                    "count(*) OVER () AS n").filter("below * 2 >= n").selectExpr("min(v)").first();
            assertEquals(median.getDouble(0), profile(r, w.getKey(), "v", "p50").value());
            // Each bin's count by its definition (floor of the distance from the low edge in bin widths, the maximum
            // in the last bin), counted by SQL over the whole window. Here mean +- 4 sd spans more than the values
            // (nearly uniform), so the edges are the minimum and maximum over both windows.
            Row range = data.selectExpr("min(v)", "max(v)").first();
            double lo = range.getDouble(0);
            double width = (range.getDouble(1) - lo) / DriftStatistics.HISTOGRAM_BINS;
            java.util.Map<Integer, Long> sqlBins = new java.util.HashMap<>();
            w.getValue().filter("v IS NOT NULL").selectExpr(String.format("least(%d, greatest(0, CAST(floor((v - %sD) / %sD) AS INT)))"
                    + " AS b", DriftStatistics.HISTOGRAM_BINS - 1, lo, width)).groupBy("b").count().collectAsList()
                    .forEach(b -> sqlBins.put(b.getInt(0), b.getLong(1)));
            for (DriftStatistics.BinCount b : bins(r, "v")) {
                if (b.window().equals(w.getKey())) {
                    assertEquals(sqlBins.getOrDefault(b.bin(), 0L), b.count(), w.getKey() + " bin " + b.bin());
                }
            }
            assertEquals(sql.getLong(1), bins(r, "v").stream().filter(b -> b.window().equals(w.getKey()))
                    .mapToLong(DriftStatistics.BinCount::count).sum());
        }
    }

    /** Twelve columns take as many Spark jobs as two: the work is not one job per column or per metric. */
    @Test
    void theNumberOfSparkJobsDoesNotGrowWithTheColumns() throws Exception {
        assertEquals(jobs(2), jobs(12));
    }

    private static int jobs(int columns) throws Exception {
        List<String> numeric = new ArrayList<>();
        List<String> categorical = new ArrayList<>();
        StringBuilder select = new StringBuilder("SELECT id");
        for (int i = 0; i < columns; i++) {
            select.append(String.format(", id %% %d + %d AS n%d, CAST(id %% %d AS STRING) AS c%d", 7 + i, i, i, 3 + i, i));
            numeric.add("n" + i);
            categorical.add("c" + i);
        }
        Dataset<Row> data = SPARK.sql(select + " FROM range(200)");
        String group = "drift-jobs-" + columns;
        SPARK.sparkContext().setJobGroup(group, "counting jobs", false);
        try {
            DriftStatistics.compute(data.filter("id < 120"), data.filter("id >= 120"), numeric, categorical);
        } finally {
            SPARK.sparkContext().clearJobGroup();
        }
        SPARK.sparkContext().listenerBus().waitUntilEmpty();
        return SPARK.sparkContext().statusTracker().getJobIdsForGroup(group).length;
    }
}
