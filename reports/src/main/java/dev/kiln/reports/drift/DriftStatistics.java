package dev.kiln.reports.drift;

import static org.apache.spark.sql.functions.abs;
import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.avg;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.first;
import static org.apache.spark.sql.functions.isnan;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.log2;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.pow;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.sqrt;
import static org.apache.spark.sql.functions.stddev_samp;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Identifiers;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.expressions.WindowSpec;
import org.apache.spark.storage.StorageLevel;

/**
 * Drift statistics and data profiles of a reference and a current window, for any number of columns in a fixed
 * number of Spark jobs: one aggregation of the raw rows (counts, nulls, mean, std, min, max per window), then
 * the rows exploded to (column, value) and grouped once into exact value counts per window, from which come the
 * Kolmogorov-Smirnov statistic, quantiles, distinct counts and the reference deciles (one job), the PSI bin
 * counts (one job), and for categorical columns the Jensen-Shannon distance, chi-square, unseen share (one job)
 * and top values (one job). Seven jobs whatever the number of columns.
 *
 * <p>Definitions (documented in the README): quantile q of a window is the smallest value whose empirical CDF
 * reaches q. PSI bins are cut at the reference deciles (ties collapse bins), a value belongs to the first bin
 * whose upper edge it does not exceed; PSI = sum over bins of (c - r) ln(c / r) with bin shares floored at
 * {@value #PSI_FLOOR}. KS = max |F_ref(x) - F_cur(x)| over every observed value. Mean shift = (mean_cur -
 * mean_ref) / std_ref, std shift = (std_cur - std_ref) / std_ref (sample standard deviations). Jensen-Shannon
 * distance with log base 2 (0..1). Chi-square of the 2 x k table of category counts (homogeneity). Unseen share:
 * share of current non-null values whose category never occurs in the reference. Null rate change = current
 * null rate - reference null rate. Nulls (and NaN) count as missing and are left out of the distributions.
 */
public final class DriftStatistics {
    public static final double PSI_FLOOR = 1e-4;
    static final int[] PERCENTILES = {1, 5, 25, 50, 75, 95, 99};
    static final int DECILES = 10;
    static final int TOP_VALUES = 5;

    public enum Kind { NUMERIC, CATEGORICAL }

    /** One drift metric of one column; value null where it is undefined (an all-null or constant column). */
    public record Metric(String column, Kind kind, String metric, Double value) {}

    /** One profile statistic of one column in one window ("reference" or "current"); top values carry text. */
    public record ProfileValue(String window, String column, Kind kind, String statistic, Double value, String text) {}

    public record Result(long referenceRows, long currentRows, List<Metric> drift, List<ProfileValue> profile) {}

    private DriftStatistics() {}

    /**
     * Compares {@code current} with {@code reference} over the named columns. Numeric columns are read as
     * doubles, categorical ones as strings. A window with no rows is an error.
     */
    public static Result compute(Dataset<Row> reference, Dataset<Row> current, List<String> numeric, List<String> categorical) {
        List<String> all = new ArrayList<>(numeric);
        all.addAll(categorical);
        if (all.isEmpty()) {
            throw new KilnException("no columns to compare");
        }
        for (String c : all) {
            for (var w : List.of(Map.entry("reference", reference), Map.entry("current", current))) {
                if (!List.of(w.getValue().columns()).contains(c)) {
                    throw new KilnException("the " + w.getKey() + " data has no column '" + c + "' (columns: "
                            + List.of(w.getValue().columns()) + ")");
                }
            }
        }
        Dataset<Row> both = positional(reference, numeric, categorical, 0)
                .unionByName(positional(current, numeric, categorical, 1))
                .persist(StorageLevel.MEMORY_AND_DISK());
        List<Dataset<Row>> cached = new ArrayList<>(List.of(both));
        try {
            List<Metric> drift = new ArrayList<>();
            List<ProfileValue> profile = new ArrayList<>();
            long[] rows = moments(both, numeric, categorical, drift, profile);
            if (!numeric.isEmpty()) {
                Dataset<Row> counts = valueCounts(both, "n", numeric.size()).persist(StorageLevel.MEMORY_AND_DISK());
                cached.add(counts);
                numericDistributions(counts, numeric, drift, profile);
            }
            if (!categorical.isEmpty()) {
                Dataset<Row> counts = valueCounts(both, "c", categorical.size()).persist(StorageLevel.MEMORY_AND_DISK());
                cached.add(counts);
                categoricalDistributions(counts, categorical, drift, profile);
            }
            return new Result(rows[0], rows[1], List.copyOf(drift), List.copyOf(profile));
        } finally {
            cached.forEach(Dataset::unpersist);
        }
    }

    /** Columns renamed n0.., c0.. (names need no quoting after this), NaN read as null, and the window tag. */
    private static Dataset<Row> positional(Dataset<Row> rows, List<String> numeric, List<String> categorical, int window) {
        List<Column> cols = new ArrayList<>();
        for (int i = 0; i < numeric.size(); i++) {
            Column v = rows.col(Identifiers.quote(numeric.get(i))).cast("double");
            cols.add(when(isnan(v), lit(null).cast("double")).otherwise(v).as("n" + i));
        }
        for (int i = 0; i < categorical.size(); i++) {
            cols.add(rows.col(Identifiers.quote(categorical.get(i))).cast("string").as("c" + i));
        }
        cols.add(lit(window).as("w"));
        return rows.select(cols.toArray(Column[]::new));
    }

    /** Job 1: rows, nulls, mean, std, min, max per window. Returns the row count of each window. */
    private static long[] moments(Dataset<Row> both, List<String> numeric, List<String> categorical, List<Metric> drift,
            List<ProfileValue> profile) {
        List<Column> aggs = new ArrayList<>();
        for (int i = 0; i < numeric.size(); i++) {
            Column v = col("n" + i);
            aggs.addAll(List.of(count(v), avg(v), stddev_samp(v), min(v), max(v)));
        }
        for (int i = 0; i < categorical.size(); i++) {
            aggs.add(count(col("c" + i)));
        }
        Row[] byWindow = (Row[]) both.groupBy("w").agg(count(lit(1)), aggs.toArray(Column[]::new)).collect();
        Row[] w = new Row[2];
        for (Row r : byWindow) {
            w[r.getInt(0)] = r;
        }
        for (int k = 0; k < 2; k++) {
            if (w[k] == null) {
                throw new KilnException("the " + window(k) + " window has no rows");
            }
        }
        long[] n = {w[0].getLong(1), w[1].getLong(1)};
        double[] nullRate = new double[2];
        for (int i = 0; i < numeric.size(); i++) {
            int at = 2 + 5 * i;
            String name = numeric.get(i);
            for (int k = 0; k < 2; k++) {
                long nonNull = w[k].getLong(at);
                nullRate[k] = (double) (n[k] - nonNull) / n[k];
                profile.add(new ProfileValue(window(k), name, Kind.NUMERIC, "count", (double) n[k], null));
                profile.add(new ProfileValue(window(k), name, Kind.NUMERIC, "nulls", (double) (n[k] - nonNull), null));
                profile.add(new ProfileValue(window(k), name, Kind.NUMERIC, "null_rate", nullRate[k], null));
                profile.add(new ProfileValue(window(k), name, Kind.NUMERIC, "mean", doubleOrNull(w[k], at + 1), null));
                profile.add(new ProfileValue(window(k), name, Kind.NUMERIC, "std", doubleOrNull(w[k], at + 2), null));
                profile.add(new ProfileValue(window(k), name, Kind.NUMERIC, "min", doubleOrNull(w[k], at + 3), null));
                profile.add(new ProfileValue(window(k), name, Kind.NUMERIC, "max", doubleOrNull(w[k], at + 4), null));
            }
            Double meanRef = doubleOrNull(w[0], at + 1);
            Double meanCur = doubleOrNull(w[1], at + 1);
            Double stdRef = doubleOrNull(w[0], at + 2);
            Double stdCur = doubleOrNull(w[1], at + 2);
            boolean scaled = stdRef != null && stdRef > 0;
            drift.add(new Metric(name, Kind.NUMERIC, "mean_shift",
                    scaled && meanCur != null ? (meanCur - meanRef) / stdRef : null));
            drift.add(new Metric(name, Kind.NUMERIC, "std_shift", scaled && stdCur != null ? (stdCur - stdRef) / stdRef : null));
            drift.add(new Metric(name, Kind.NUMERIC, "null_rate_change", nullRate[1] - nullRate[0]));
        }
        for (int i = 0; i < categorical.size(); i++) {
            int at = 2 + 5 * numeric.size() + i;
            String name = categorical.get(i);
            for (int k = 0; k < 2; k++) {
                long nonNull = w[k].getLong(at);
                nullRate[k] = (double) (n[k] - nonNull) / n[k];
                profile.add(new ProfileValue(window(k), name, Kind.CATEGORICAL, "count", (double) n[k], null));
                profile.add(new ProfileValue(window(k), name, Kind.CATEGORICAL, "nulls", (double) (n[k] - nonNull), null));
                profile.add(new ProfileValue(window(k), name, Kind.CATEGORICAL, "null_rate", nullRate[k], null));
            }
            drift.add(new Metric(name, Kind.CATEGORICAL, "null_rate_change", nullRate[1] - nullRate[0]));
        }
        return n;
    }

    /** Exact counts per (column index, value) of each window: the columns with the given prefix, exploded. */
    private static Dataset<Row> valueCounts(Dataset<Row> both, String prefix, int columns) {
        Column[] pairs = new Column[columns];
        for (int i = 0; i < columns; i++) {
            pairs[i] = struct(lit(i).as("feature"), col(prefix + i).as("value"));
        }
        return both.select(col("w"), explode(array(pairs)).as("kv"))
                .select(col("w"), col("kv.feature").as("feature"), col("kv.value").as("value"))
                .filter(col("value").isNotNull())
                .groupBy("feature", "value")
                .agg(sum(when(col("w").equalTo(0), 1L).otherwise(0L)).as("n_ref"),
                        sum(when(col("w").equalTo(1), 1L).otherwise(0L)).as("n_cur"));
    }

    /** Jobs 3 and 4 of numeric columns: CDFs, KS, quantiles, distinct counts, deciles; then the PSI bins. */
    private static void numericDistributions(Dataset<Row> counts, List<String> numeric, List<Metric> drift,
            List<ProfileValue> profile) {
        WindowSpec byFeature = Window.partitionBy("feature");
        WindowSpec upTo = Window.partitionBy("feature").orderBy("value")
                .rowsBetween(Window.unboundedPreceding(), Window.currentRow());
        Dataset<Row> cdf = counts
                .withColumn("tot_ref", sum("n_ref").over(byFeature)).withColumn("tot_cur", sum("n_cur").over(byFeature))
                .withColumn("cum_ref", sum("n_ref").over(upTo)).withColumn("cum_cur", sum("n_cur").over(upTo));
        Column both = col("tot_ref").gt(0).and(col("tot_cur").gt(0));
        List<Column> aggs = new ArrayList<>();
        aggs.add(max(when(both, abs(col("cum_ref").divide(col("tot_ref")).minus(col("cum_cur").divide(col("tot_cur")))))));
        aggs.add(sum(when(col("n_ref").gt(0), 1L).otherwise(0L)));
        aggs.add(sum(when(col("n_cur").gt(0), 1L).otherwise(0L)));
        for (String w : List.of("ref", "cur")) {
            for (int p : PERCENTILES) { // integer comparison: the quantile is exact
                aggs.add(min(when(col("tot_" + w).gt(0).and(col("cum_" + w).multiply(100).geq(col("tot_" + w).multiply(p))),
                        col("value"))));
            }
        }
        for (int k = 1; k < DECILES; k++) {
            aggs.add(min(when(col("tot_ref").gt(0).and(col("cum_ref").multiply(DECILES).geq(col("tot_ref").multiply(k))),
                    col("value"))));
        }
        Row[] stats = (Row[]) cdf.groupBy("feature").agg(aggs.get(0), aggs.subList(1, aggs.size()).toArray(Column[]::new))
                .collect();
        Map<Integer, Row> byIndex = new HashMap<>();
        for (Row r : stats) {
            byIndex.put(r.getInt(0), r);
        }
        Map<Integer, double[]> edges = new HashMap<>();
        for (int i = 0; i < numeric.size(); i++) {
            String name = numeric.get(i);
            Row r = byIndex.get(i);
            drift.add(new Metric(name, Kind.NUMERIC, "ks", r == null ? null : doubleOrNull(r, 1)));
            for (int k = 0; k < 2; k++) {
                profile.add(new ProfileValue(window(k), name, Kind.NUMERIC, "distinct", r == null ? 0.0 : (double) r.getLong(2 + k), null));
                for (int j = 0; j < PERCENTILES.length; j++) {
                    profile.add(new ProfileValue(window(k), name, Kind.NUMERIC, String.format("p%02d", PERCENTILES[j]),
                            r == null ? null : doubleOrNull(r, 4 + k * PERCENTILES.length + j), null));
                }
            }
            if (r != null && !r.isNullAt(4 + 2 * PERCENTILES.length)) {
                TreeSet<Double> cut = new TreeSet<>();
                for (int k = 0; k < DECILES - 1; k++) {
                    cut.add(r.getDouble(4 + 2 * PERCENTILES.length + k));
                }
                edges.put(i, cut.stream().mapToDouble(Double::doubleValue).toArray());
            }
        }
        Map<Integer, Double> psi = psi(counts, edges);
        for (int i = 0; i < numeric.size(); i++) {
            drift.add(new Metric(numeric.get(i), Kind.NUMERIC, "psi", psi.get(i)));
        }
    }

    /** PSI of every column with reference deciles: one aggregation of the value counts into bins. */
    private static Map<Integer, Double> psi(Dataset<Row> counts, Map<Integer, double[]> edges) {
        Map<Integer, Double> out = new HashMap<>();
        if (edges.isEmpty()) {
            return out;
        }
        Column bin = null;
        for (Map.Entry<Integer, double[]> e : edges.entrySet()) {
            Column index = lit(0);
            for (double edge : e.getValue()) {
                index = index.plus(when(col("value").gt(lit(edge)), 1).otherwise(0));
            }
            bin = bin == null ? when(col("feature").equalTo(e.getKey()), index) : bin.when(col("feature").equalTo(e.getKey()), index);
        }
        Row[] bins = (Row[]) counts.filter(bin.isNotNull()).groupBy(col("feature"), bin.as("bin"))
                .agg(sum("n_ref"), sum("n_cur")).collect();
        Map<Integer, long[]> totals = new HashMap<>();
        for (Row r : bins) {
            long[] t = totals.computeIfAbsent(r.getInt(0), k -> new long[2]);
            t[0] += r.getLong(2);
            t[1] += r.getLong(3);
        }
        for (Row r : bins) {
            long[] t = totals.get(r.getInt(0));
            if (t[0] == 0 || t[1] == 0) {
                continue; // one window is all null: no distribution to compare
            }
            double ref = Math.max((double) r.getLong(2) / t[0], PSI_FLOOR);
            double cur = Math.max((double) r.getLong(3) / t[1], PSI_FLOOR);
            out.merge(r.getInt(0), (cur - ref) * Math.log(cur / ref), Double::sum);
        }
        return out;
    }

    /** Jobs 5 and 6: JS distance, chi-square, unseen share and distinct counts; then the top values. */
    private static void categoricalDistributions(Dataset<Row> counts, List<String> categorical, List<Metric> drift,
            List<ProfileValue> profile) {
        WindowSpec byFeature = Window.partitionBy("feature");
        Dataset<Row> shares = counts
                .withColumn("tot_ref", sum("n_ref").over(byFeature)).withColumn("tot_cur", sum("n_cur").over(byFeature));
        Column nRef = col("n_ref").cast("double");
        Column nCur = col("n_cur").cast("double");
        Column totRef = col("tot_ref").cast("double");
        Column totCur = col("tot_cur").cast("double");
        Column p = nRef.divide(totRef);
        Column q = nCur.divide(totCur);
        Column m = p.plus(q).divide(2);
        Column js = when(col("n_ref").gt(0), p.multiply(log2(p.divide(m)))).otherwise(0.0)
                .plus(when(col("n_cur").gt(0), q.multiply(log2(q.divide(m)))).otherwise(0.0)).divide(2);
        Column total = totRef.plus(totCur);
        Column expectedRef = nRef.plus(nCur).multiply(totRef).divide(total);
        Column expectedCur = nRef.plus(nCur).multiply(totCur).divide(total);
        Column chi = pow(nRef.minus(expectedRef), 2).divide(expectedRef).plus(pow(nCur.minus(expectedCur), 2).divide(expectedCur));
        Column both = col("tot_ref").gt(0).and(col("tot_cur").gt(0));
        Row[] stats = (Row[]) shares.groupBy("feature").agg(
                sum(when(both, js)), sum(when(both, chi)),
                sum(when(col("n_ref").equalTo(0), col("n_cur")).otherwise(0L)), first("tot_cur"),
                sum(when(col("n_ref").gt(0), 1L).otherwise(0L)), sum(when(col("n_cur").gt(0), 1L).otherwise(0L))).collect();
        Map<Integer, Row> byIndex = new HashMap<>();
        for (Row r : stats) {
            byIndex.put(r.getInt(0), r);
        }
        for (int i = 0; i < categorical.size(); i++) {
            String name = categorical.get(i);
            Row r = byIndex.get(i);
            drift.add(new Metric(name, Kind.CATEGORICAL, "js_distance", r == null || r.isNullAt(1) ? null : Math.sqrt(Math.max(0, r.getDouble(1)))));
            drift.add(new Metric(name, Kind.CATEGORICAL, "chi_square", r == null ? null : doubleOrNull(r, 2)));
            drift.add(new Metric(name, Kind.CATEGORICAL, "unseen_share",
                    r == null || r.getLong(4) == 0 ? null : (double) r.getLong(3) / r.getLong(4)));
            for (int k = 0; k < 2; k++) {
                profile.add(new ProfileValue(window(k), name, Kind.CATEGORICAL, "distinct", r == null ? 0.0 : (double) r.getLong(5 + k), null));
            }
        }
        Dataset<Row> perWindow = counts.select(col("feature"), col("value"), lit(0).as("w"), col("n_ref").as("n"))
                .unionByName(counts.select(col("feature"), col("value"), lit(1).as("w"), col("n_cur").as("n")))
                .filter(col("n").gt(0));
        Row[] top = (Row[]) perWindow
                .withColumn("rank", row_number().over(Window.partitionBy("feature", "w").orderBy(col("n").desc(), col("value"))))
                .filter(col("rank").leq(TOP_VALUES)).orderBy("feature", "w", "rank").collect();
        for (Row r : top) {
            profile.add(new ProfileValue(window(r.getInt(2)), categorical.get(r.getInt(0)), Kind.CATEGORICAL,
                    "top_" + r.getInt(4), (double) r.getLong(3), r.getString(1)));
        }
    }

    private static String window(int k) {
        return k == 0 ? "reference" : "current";
    }

    private static Double doubleOrNull(Row r, int i) {
        return r.isNullAt(i) ? null : ((Number) r.get(i)).doubleValue();
    }
}
