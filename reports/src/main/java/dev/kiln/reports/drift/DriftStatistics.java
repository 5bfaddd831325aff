package dev.kiln.reports.drift;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.nanvl;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Identifiers;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import scala.Tuple2;

/**
 * Drift statistics and data profiles of a reference and a current window, for any number of columns in one
 * constant number of Spark jobs. The input is read once: the exact counts of every (column, value) pair per window
 * (nulls included) are aggregated in Spark and stay distributed; numeric columns are then range-partitioned and
 * sorted by value, and two passes over them (one small summary per partition, offsets summed on the driver) give
 * exact quantiles, KS, PSI and moments ({@link NumericColumns}); categorical ones take two passes over their
 * category counts ({@link CategoricalColumns}). No task and not the driver holds a column's distinct values, and
 * every value is exact and independent of the partitioning (sums are {@link dev.kiln.training.ExactSum}s). The
 * number of Spark jobs does not grow with the number of columns or of distinct values.
 *
 * <p>Definitions (documented in the README): quantile q of a window is the smallest value whose empirical CDF
 * reaches q. PSI bins are cut at the reference deciles (ties collapse bins), a value belongs to the first bin
 * whose upper edge it does not exceed; PSI = sum over bins of (c - r) ln(c / r) with bin shares floored at
 * {@value #PSI_FLOOR}. KS = max |F_ref(x) - F_cur(x)| over every observed value. Mean shift = (mean_cur -
 * mean_ref) / std_ref, std shift = (std_cur - std_ref) / std_ref (sample standard deviations). Jensen-Shannon
 * distance with log base 2 (0..1). Chi-square of the 2 x k table of category counts (homogeneity). Unseen share:
 * share of current non-null values whose category never occurs in the reference. Null rate change = current
 * null rate - reference null rate. Nulls (and NaN) count as missing and are left out of the distributions.
 * Histograms: {@value #HISTOGRAM_BINS} equal-width bins over a numeric column's range in both windows, cut to
 * their mean +- {@value #HISTOGRAM_SPREAD} standard deviations ({@link BinCount}), counted in the same pass as
 * the quantiles.
 */
public final class DriftStatistics {
    public static final double PSI_FLOOR = 1e-4;
    static final int[] PERCENTILES = {1, 5, 25, 50, 75, 95, 99};
    static final int DECILES = 10;
    static final int TOP_VALUES = 5;
    public static final int HISTOGRAM_BINS = 20;
    static final int HISTOGRAM_SPREAD = 4;

    public enum Kind { NUMERIC, CATEGORICAL }

    /** One drift metric of one column; value null where it is undefined (an all-null or constant column). */
    public record Metric(String column, Kind kind, String metric, Double value) implements Serializable {}

    /** One profile statistic of one column in one window ("reference" or "current"); top values carry text. */
    public record ProfileValue(String window, String column, Kind kind, String statistic, Double value, String text)
            implements Serializable {}

    /**
     * One histogram bin of a numeric column in one window ("reference" or "current"): the non-null values {@code v}
     * with {@code floor((v - lo) / width) = bin}, where width = (hi - lo) / {@value #HISTOGRAM_BINS} and lo .. hi is
     * the column's range over both windows cut to their mean +- {@value #HISTOGRAM_SPREAD} standard deviations; values
     * below lo count in the first bin, values at or above hi in the last. Both windows share the edges, so their
     * histograms overlay. A constant column has one bin.
     */
    public record BinCount(String window, String column, int bin, double lower, double upper, long count) implements Serializable {}

    public record Result(long referenceRows, long currentRows, List<Metric> drift, List<ProfileValue> profile, List<BinCount> bins) {}

    /** One column's rows per window (nulls included), drift metrics, profile and (numeric columns) histogram. */
    record ColumnResult(long[] rows, List<Metric> drift, List<ProfileValue> profile, List<BinCount> bins) implements Serializable {}

    private DriftStatistics() {}

    /**
     * Compares {@code current} with {@code reference} over the named columns. Numeric columns are read as
     * doubles, categorical ones as strings. A window with no rows is an error.
     */
    public static Result compute(Dataset<Row> reference, Dataset<Row> current, List<String> numeric, List<String> categorical) {
        requireColumns("reference", reference, numeric, categorical);
        requireColumns("current", current, numeric, categorical);
        return count(positional(reference, numeric, categorical, lit(0)).unionByName(positional(current, numeric, categorical, lit(1))),
                numeric, categorical);
    }

    /**
     * As {@link #compute(Dataset, Dataset, List, List)}, over one input whose {@code window} column says which
     * window a row is in: 0 for the reference, 1 for the current one, null for neither (left out).
     */
    public static Result compute(Dataset<Row> rows, Column window, List<String> numeric, List<String> categorical) {
        requireColumns("input", rows, numeric, categorical);
        Dataset<Row> tagged = positional(rows, numeric, categorical, window);
        return count(tagged.filter(tagged.col("w").isNotNull()), numeric, categorical);
    }

    private static void requireColumns(String which, Dataset<Row> rows, List<String> numeric, List<String> categorical) {
        if (numeric.isEmpty() && categorical.isEmpty()) {
            throw new KilnException("no columns to compare");
        }
        List<String> present = List.of(rows.columns());
        for (List<String> names : List.of(numeric, categorical)) {
            for (String c : names) {
                if (!present.contains(c)) {
                    throw new KilnException("the " + which + " data has no column '" + c + "' (columns: " + present + ")");
                }
            }
        }
    }

    /** The statistics of positional columns (see {@link #positional}): numeric ones, then categorical ones. */
    private static Result count(Dataset<Row> both, List<String> numeric, List<String> categorical) {
        List<ColumnResult> byColumn = new ArrayList<>();
        if (!numeric.isEmpty()) {
            byColumn.addAll(NumericColumns.compute(both, numeric));
        }
        if (!categorical.isEmpty()) {
            byColumn.addAll(CategoricalColumns.compute(both, categorical));
        }
        long[] windowRows = byColumn.get(0).rows();
        for (int k = 0; k < 2; k++) {
            if (windowRows[k] == 0) {
                throw new KilnException("the " + window(k) + " window has no rows");
            }
        }
        List<Metric> drift = new ArrayList<>();
        List<ProfileValue> profile = new ArrayList<>();
        List<BinCount> bins = new ArrayList<>();
        for (ColumnResult r : byColumn) {
            drift.addAll(r.drift());
            profile.addAll(r.profile());
            bins.addAll(r.bins());
        }
        return new Result(windowRows[0], windowRows[1], List.copyOf(drift), List.copyOf(profile), List.copyOf(bins));
    }

    /** Columns renamed n0.., c0.. (names need no quoting after this), NaN read as null, and the window tag. */
    private static Dataset<Row> positional(Dataset<Row> rows, List<String> numeric, List<String> categorical, Column window) {
        List<Column> cols = new ArrayList<>();
        for (int i = 0; i < numeric.size(); i++) {
            cols.add(nanvl(rows.col(Identifiers.quote(numeric.get(i))).cast("double"), lit(null).cast("double")).as("n" + i));
        }
        for (int i = 0; i < categorical.size(); i++) {
            cols.add(rows.col(Identifiers.quote(categorical.get(i))).cast("string").as("c" + i));
        }
        cols.add(window.cast("int").as("w"));
        return rows.select(cols.toArray(Column[]::new));
    }

    /**
     * Rows {@code (i, v, r, c)}: for each positional column {@code <prefix>i} of {@code both} and each of its values
     * {@code v} (null included), how many reference ({@code r}) and current ({@code c}) rows hold it.
     */
    static Dataset<Row> valueCounts(Dataset<Row> both, String prefix, int columns) {
        Column[] entries = new Column[columns];
        for (int i = 0; i < columns; i++) {
            entries[i] = struct(lit(i).as("i"), col(prefix + i).as("v"));
        }
        Column w = col("w");
        return both.select(explode(array(entries)).as("e"), w)
                .select(col("e.i").as("i"), col("e.v").as("v"), w)
                .groupBy("i", "v").agg(sum(when(w.equalTo(0), 1L).otherwise(0L)).as("r"), sum(when(w.equalTo(1), 1L).otherwise(0L)).as("c"));
    }

    /**
     * The plans of the statistics' SQL work over {@code rows}, not run (for plan reports such as {@code kiln gpu-plan}):
     * the numeric columns' sorted value counts, then the categorical columns' value counts (each when there are any).
     */
    public static List<Dataset<Row>> plans(Dataset<Row> rows, Column window, List<String> numeric, List<String> categorical) {
        requireColumns("input", rows, numeric, categorical);
        Dataset<Row> tagged = positional(rows, numeric, categorical, window);
        Dataset<Row> both = tagged.filter(tagged.col("w").isNotNull());
        List<Dataset<Row>> out = new ArrayList<>();
        if (!numeric.isEmpty()) {
            out.add(NumericColumns.sortedCounts(both, numeric.size()));
        }
        if (!categorical.isEmpty()) {
            out.add(valueCounts(both, "c", categorical.size()));
        }
        return out;
    }

    static String window(int k) {
        return k == 0 ? "reference" : "current";
    }
}
