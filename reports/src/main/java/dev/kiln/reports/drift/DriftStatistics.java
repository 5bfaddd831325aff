package dev.kiln.reports.drift;

import static org.apache.spark.sql.functions.abs;
import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.first;
import static org.apache.spark.sql.functions.nanvl;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.log2;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.pow;
import static org.apache.spark.sql.functions.row_number;
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
 * number of Spark jobs. The input is read once: every row is exploded into one (column, value) pair per column
 * and grouped into exact value counts per window (nulls included). Everything else comes from those counts,
 * which are small next to the input: the numeric profile, Kolmogorov-Smirnov statistic, quantiles and the
 * reference deciles (one job), the PSI bin counts (one job), and for categorical columns the Jensen-Shannon
 * distance, chi-square and unseen share (one job) and the top values (one job). Five jobs, whatever the number
 * of columns.
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
        Dataset<Row> counts = valueCounts(positional(reference, numeric, categorical, 0)
                .unionByName(positional(current, numeric, categorical, 1)), numeric.size(), categorical.size())
                .persist(StorageLevel.MEMORY_AND_DISK());
        try {
            // Every row has one pair per column, so the counts of column 0 are the row counts of the windows.
            Row rows = counts.filter(col("feature").equalTo(0)).agg(sum("n_ref"), sum("n_cur")).first();
            long[] n = {rows.isNullAt(0) ? 0 : rows.getLong(0), rows.isNullAt(1) ? 0 : rows.getLong(1)};
            for (int k = 0; k < 2; k++) {
                if (n[k] == 0) {
                    throw new KilnException("the " + window(k) + " window has no rows");
                }
            }
            List<Metric> drift = new ArrayList<>();
            List<ProfileValue> profile = new ArrayList<>();
            if (!numeric.isEmpty()) {
                numericDistributions(counts.filter(col("feature").lt(numeric.size())), numeric, n, drift, profile);
            }
            if (!categorical.isEmpty()) {
                categoricalDistributions(counts.filter(col("feature").geq(numeric.size()))
                        .withColumn("feature", col("feature").minus(numeric.size())), categorical, n, drift, profile);
            }
            return new Result(n[0], n[1], List.copyOf(drift), List.copyOf(profile));
        } finally {
            counts.unpersist();
        }
    }

    /** Columns renamed n0.., c0.. (names need no quoting after this), NaN read as null, and the window tag. */
    private static Dataset<Row> positional(Dataset<Row> rows, List<String> numeric, List<String> categorical, int window) {
        List<Column> cols = new ArrayList<>();
        for (int i = 0; i < numeric.size(); i++) {
            cols.add(nanvl(rows.col(Identifiers.quote(numeric.get(i))).cast("double"), lit(null).cast("double")).as("n" + i));
        }
        for (int i = 0; i < categorical.size(); i++) {
            cols.add(rows.col(Identifiers.quote(categorical.get(i))).cast("string").as("c" + i));
        }
        cols.add(lit(window).as("w"));
        return rows.select(cols.toArray(Column[]::new));
    }

    /**
     * Exact counts per (column index, value) of each window, nulls included: numeric columns (index 0..) carry
     * their value in {@code num}, categorical ones (after them) in {@code cat}.
     */
    private static Dataset<Row> valueCounts(Dataset<Row> both, int numeric, int categorical) {
        Column[] pairs = new Column[numeric + categorical];
        for (int i = 0; i < numeric; i++) {
            pairs[i] = struct(lit(i).as("feature"), col("n" + i).as("num"), lit(null).cast("string").as("cat"));
        }
        for (int i = 0; i < categorical; i++) {
            pairs[numeric + i] = struct(lit(numeric + i).as("feature"), lit(null).cast("double").as("num"), col("c" + i).as("cat"));
        }
        return both.select(col("w"), explode(array(pairs)).as("kv"))
                .select(col("w"), col("kv.feature").as("feature"), col("kv.num").as("num"), col("kv.cat").as("cat"))
                .groupBy("feature", "num", "cat")
                .agg(sum(when(col("w").equalTo(0), 1L).otherwise(0L)).as("n_ref"),
                        sum(when(col("w").equalTo(1), 1L).otherwise(0L)).as("n_cur"));
    }

    /**
     * Numeric columns from their value counts {@code (feature, num, n_ref, n_cur)}: one job for the profile,
     * KS, quantiles and reference deciles, one for the PSI bins.
     */
    private static void numericDistributions(Dataset<Row> counts, List<String> numeric, long[] rows, List<Metric> drift,
            List<ProfileValue> profile) {
        Column present = col("num").isNotNull();
        Dataset<Row> values = counts
                .withColumn("v_ref", when(present, col("n_ref")).otherwise(0L))
                .withColumn("v_cur", when(present, col("n_cur")).otherwise(0L));
        WindowSpec byFeature = Window.partitionBy("feature");
        WindowSpec upTo = Window.partitionBy("feature").orderBy("num")
                .rowsBetween(Window.unboundedPreceding(), Window.currentRow());
        Dataset<Row> cdf = values
                .withColumn("tot_ref", sum("v_ref").over(byFeature)).withColumn("tot_cur", sum("v_cur").over(byFeature))
                .withColumn("sum_ref", sum(col("num").multiply(col("v_ref"))).over(byFeature))
                .withColumn("sum_cur", sum(col("num").multiply(col("v_cur"))).over(byFeature))
                .withColumn("cum_ref", sum("v_ref").over(upTo)).withColumn("cum_cur", sum("v_cur").over(upTo));
        Column both = col("tot_ref").gt(0).and(col("tot_cur").gt(0));
        List<Column> aggs = new ArrayList<>();
        aggs.add(max(when(both.and(present), abs(col("cum_ref").divide(col("tot_ref")).minus(col("cum_cur").divide(col("tot_cur")))))));
        for (String w : List.of("ref", "cur")) {
            Column tot = col("tot_" + w);
            Column mean = when(tot.gt(0), col("sum_" + w).divide(tot));
            aggs.add(first("tot_" + w));
            aggs.add(first(mean, true));
            // Sample variance around the window's mean, from the counts: exact up to rounding, like stddev_samp.
            aggs.add(sum(when(present.and(tot.gt(1)), pow(col("num").minus(mean), 2).multiply(col("v_" + w)))));
            aggs.add(min(when(col("v_" + w).gt(0), col("num"))));
            aggs.add(max(when(col("v_" + w).gt(0), col("num"))));
            aggs.add(sum(when(col("v_" + w).gt(0), 1L).otherwise(0L)));
            for (int p : PERCENTILES) { // integer comparison: the quantile is exact
                aggs.add(min(when(present.and(tot.gt(0)).and(col("cum_" + w).multiply(100).geq(tot.multiply(p))), col("num"))));
            }
        }
        for (int k = 1; k < DECILES; k++) {
            aggs.add(min(when(present.and(col("tot_ref").gt(0)).and(col("cum_ref").multiply(DECILES).geq(col("tot_ref").multiply(k))),
                    col("num"))));
        }
        Row[] stats = (Row[]) cdf.groupBy("feature").agg(aggs.get(0), aggs.subList(1, aggs.size()).toArray(Column[]::new))
                .collect();
        Map<Integer, Row> byIndex = new HashMap<>();
        for (Row r : stats) {
            byIndex.put(r.getInt(0), r);
        }
        int perWindow = 6 + PERCENTILES.length;
        Map<Integer, double[]> edges = new HashMap<>();
        for (int i = 0; i < numeric.size(); i++) {
            String name = numeric.get(i);
            Row r = byIndex.get(i);
            Double[] mean = new Double[2];
            Double[] std = new Double[2];
            double[] nullRate = new double[2];
            for (int k = 0; k < 2; k++) {
                int at = 2 + k * perWindow;
                long nonNull = r.getLong(at);
                nullRate[k] = (double) (rows[k] - nonNull) / rows[k];
                mean[k] = doubleOrNull(r, at + 1);
                std[k] = nonNull > 1 ? Math.sqrt(r.getDouble(at + 2) / (nonNull - 1)) : null;
                String w = window(k);
                profile.add(new ProfileValue(w, name, Kind.NUMERIC, "count", (double) rows[k], null));
                profile.add(new ProfileValue(w, name, Kind.NUMERIC, "nulls", (double) (rows[k] - nonNull), null));
                profile.add(new ProfileValue(w, name, Kind.NUMERIC, "null_rate", nullRate[k], null));
                profile.add(new ProfileValue(w, name, Kind.NUMERIC, "mean", mean[k], null));
                profile.add(new ProfileValue(w, name, Kind.NUMERIC, "std", std[k], null));
                profile.add(new ProfileValue(w, name, Kind.NUMERIC, "min", doubleOrNull(r, at + 3), null));
                profile.add(new ProfileValue(w, name, Kind.NUMERIC, "max", doubleOrNull(r, at + 4), null));
                profile.add(new ProfileValue(w, name, Kind.NUMERIC, "distinct", (double) r.getLong(at + 5), null));
                for (int j = 0; j < PERCENTILES.length; j++) {
                    profile.add(new ProfileValue(w, name, Kind.NUMERIC, String.format("p%02d", PERCENTILES[j]), doubleOrNull(r, at + 6 + j), null));
                }
            }
            boolean scaled = std[0] != null && std[0] > 0;
            drift.add(new Metric(name, Kind.NUMERIC, "mean_shift", scaled && mean[1] != null ? (mean[1] - mean[0]) / std[0] : null));
            drift.add(new Metric(name, Kind.NUMERIC, "std_shift", scaled && std[1] != null ? (std[1] - std[0]) / std[0] : null));
            drift.add(new Metric(name, Kind.NUMERIC, "null_rate_change", nullRate[1] - nullRate[0]));
            drift.add(new Metric(name, Kind.NUMERIC, "ks", doubleOrNull(r, 1)));
            int deciles = 2 + 2 * perWindow;
            if (!r.isNullAt(deciles)) {
                TreeSet<Double> cut = new TreeSet<>();
                for (int k = 0; k < DECILES - 1; k++) {
                    cut.add(r.getDouble(deciles + k));
                }
                edges.put(i, cut.stream().mapToDouble(Double::doubleValue).toArray());
            }
        }
        Map<Integer, Double> psi = psi(values.filter(present), edges);
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
                index = index.plus(when(col("num").gt(lit(edge)), 1).otherwise(0));
            }
            bin = bin == null ? when(col("feature").equalTo(e.getKey()), index) : bin.when(col("feature").equalTo(e.getKey()), index);
        }
        Row[] bins = (Row[]) counts.filter(bin.isNotNull()).groupBy(col("feature"), bin.as("bin"))
                .agg(sum("v_ref"), sum("v_cur")).collect();
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

    /**
     * Categorical columns from their value counts {@code (feature, cat, n_ref, n_cur)}: one job for the null
     * counts, JS distance, chi-square, unseen share and distinct counts, one for the top values.
     */
    private static void categoricalDistributions(Dataset<Row> counts, List<String> categorical, long[] rows, List<Metric> drift,
            List<ProfileValue> profile) {
        WindowSpec byFeature = Window.partitionBy("feature");
        Column present = col("cat").isNotNull();
        Dataset<Row> shares = counts
                .withColumn("v_ref", when(present, col("n_ref")).otherwise(0L))
                .withColumn("v_cur", when(present, col("n_cur")).otherwise(0L))
                .withColumn("tot_ref", sum("v_ref").over(byFeature)).withColumn("tot_cur", sum("v_cur").over(byFeature));
        Column nRef = col("v_ref").cast("double");
        Column nCur = col("v_cur").cast("double");
        Column totRef = col("tot_ref").cast("double");
        Column totCur = col("tot_cur").cast("double");
        Column p = nRef.divide(totRef);
        Column q = nCur.divide(totCur);
        Column m = p.plus(q).divide(2);
        Column js = when(col("v_ref").gt(0), p.multiply(log2(p.divide(m)))).otherwise(0.0)
                .plus(when(col("v_cur").gt(0), q.multiply(log2(q.divide(m)))).otherwise(0.0)).divide(2);
        Column total = totRef.plus(totCur);
        Column expectedRef = nRef.plus(nCur).multiply(totRef).divide(total);
        Column expectedCur = nRef.plus(nCur).multiply(totCur).divide(total);
        Column chi = pow(nRef.minus(expectedRef), 2).divide(expectedRef).plus(pow(nCur.minus(expectedCur), 2).divide(expectedCur));
        Column both = col("tot_ref").gt(0).and(col("tot_cur").gt(0)).and(present);
        Row[] stats = (Row[]) shares.groupBy("feature").agg(
                sum(when(both, js)), sum(when(both, chi)),
                sum(when(present.and(col("v_ref").equalTo(0)), col("v_cur")).otherwise(0L)), first("tot_cur"),
                sum(when(col("v_ref").gt(0), 1L).otherwise(0L)), sum(when(col("v_cur").gt(0), 1L).otherwise(0L)),
                first("tot_ref")).collect();
        Map<Integer, Row> byIndex = new HashMap<>();
        for (Row r : stats) {
            byIndex.put(r.getInt(0), r);
        }
        for (int i = 0; i < categorical.size(); i++) {
            String name = categorical.get(i);
            Row r = byIndex.get(i);
            long[] nonNull = {r.getLong(7), r.getLong(4)};
            double[] nullRate = new double[2];
            for (int k = 0; k < 2; k++) {
                nullRate[k] = (double) (rows[k] - nonNull[k]) / rows[k];
                profile.add(new ProfileValue(window(k), name, Kind.CATEGORICAL, "count", (double) rows[k], null));
                profile.add(new ProfileValue(window(k), name, Kind.CATEGORICAL, "nulls", (double) (rows[k] - nonNull[k]), null));
                profile.add(new ProfileValue(window(k), name, Kind.CATEGORICAL, "null_rate", nullRate[k], null));
                profile.add(new ProfileValue(window(k), name, Kind.CATEGORICAL, "distinct", (double) r.getLong(5 + k), null));
            }
            drift.add(new Metric(name, Kind.CATEGORICAL, "null_rate_change", nullRate[1] - nullRate[0]));
            drift.add(new Metric(name, Kind.CATEGORICAL, "js_distance", r.isNullAt(1) ? null : Math.sqrt(Math.max(0, r.getDouble(1)))));
            drift.add(new Metric(name, Kind.CATEGORICAL, "chi_square", doubleOrNull(r, 2)));
            drift.add(new Metric(name, Kind.CATEGORICAL, "unseen_share", nonNull[1] == 0 ? null : (double) r.getLong(3) / nonNull[1]));
        }
        Dataset<Row> known = counts.filter(present);
        Dataset<Row> perWindow = known.select(col("feature"), col("cat"), lit(0).as("w"), col("n_ref").as("n"))
                .unionByName(known.select(col("feature"), col("cat"), lit(1).as("w"), col("n_cur").as("n")))
                .filter(col("n").gt(0));
        Row[] top = (Row[]) perWindow
                .withColumn("rank", row_number().over(Window.partitionBy("feature", "w").orderBy(col("n").desc(), col("cat"))))
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
