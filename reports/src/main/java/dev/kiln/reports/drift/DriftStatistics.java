package dev.kiln.reports.drift;

import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.nanvl;

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
 * Spark job. The input is read once: each task counts the exact values of every column in its rows (nulls
 * included) per window, the counts are merged per column, and each column's statistics are computed from its
 * merged counts in one task (a column's counts are as large as its number of distinct values; only the small
 * results reach the driver). One job, whatever the number of columns.
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
    public record Metric(String column, Kind kind, String metric, Double value) implements Serializable {}

    /** One profile statistic of one column in one window ("reference" or "current"); top values carry text. */
    public record ProfileValue(String window, String column, Kind kind, String statistic, Double value, String text)
            implements Serializable {}

    public record Result(long referenceRows, long currentRows, List<Metric> drift, List<ProfileValue> profile) {}

    /** One column's rows per window (nulls included), drift metrics and profile. */
    record ColumnResult(long[] rows, List<Metric> drift, List<ProfileValue> profile) implements Serializable {}

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

    /** The counting job over positional columns (see {@link #positional}). */
    private static Result count(Dataset<Row> both, List<String> numeric, List<String> categorical) {
        List<String> all = new ArrayList<>(numeric);
        all.addAll(categorical);
        int n = numeric.size();
        int columns = all.size();
        // Rows as Spark holds them (no conversion to Row objects): doubles and UTF-8 strings read in place.
        JavaRDD<InternalRow> rows = both.queryExecution().toRdd().toJavaRDD();
        JavaPairRDD<Integer, Serializable> partial = rows.mapPartitionsToPair(it -> countValues(it, n, columns));
        List<Tuple2<Integer, ColumnResult>> results = partial
                .reduceByKey(DriftStatistics::merge, Math.max(1, Math.min(columns, rows.context().defaultParallelism())))
                .mapToPair(e -> new Tuple2<>(e._1(), e._2() instanceof NumericCounts x ? x.summarize(all.get(e._1()))
                        : ((CategoryCounts) e._2()).summarize(all.get(e._1()))))
                .collect();
        ColumnResult[] byColumn = new ColumnResult[columns];
        results.forEach(t -> byColumn[t._1()] = t._2());
        long[] windowRows = byColumn[0] == null ? new long[2] : byColumn[0].rows();
        for (int k = 0; k < 2; k++) {
            if (windowRows[k] == 0) {
                throw new KilnException("the " + window(k) + " window has no rows");
            }
        }
        List<Metric> drift = new ArrayList<>();
        List<ProfileValue> profile = new ArrayList<>();
        for (ColumnResult r : byColumn) {
            drift.addAll(r.drift());
            profile.addAll(r.profile());
        }
        return new Result(windowRows[0], windowRows[1], List.copyOf(drift), List.copyOf(profile));
    }

    /** One task's exact value counts: numeric columns 0..n-1, categorical ones after them, the window tag last. */
    private static Iterator<Tuple2<Integer, Serializable>> countValues(Iterator<InternalRow> it, int n, int columns) {
        NumericCounts[] numeric = new NumericCounts[n];
        CategoryCounts[] categorical = new CategoryCounts[columns - n];
        for (int i = 0; i < n; i++) {
            numeric[i] = new NumericCounts();
        }
        for (int i = 0; i < categorical.length; i++) {
            categorical[i] = new CategoryCounts();
        }
        while (it.hasNext()) {
            InternalRow row = it.next();
            int w = row.getInt(columns);
            for (int i = 0; i < n; i++) {
                if (row.isNullAt(i)) {
                    numeric[i].addNull(w);
                } else {
                    numeric[i].add(row.getDouble(i), w);
                }
            }
            for (int i = n; i < columns; i++) {
                if (row.isNullAt(i)) {
                    categorical[i - n].addNull(w);
                } else {
                    categorical[i - n].add(row.getUTF8String(i), w);
                }
            }
        }
        List<Tuple2<Integer, Serializable>> out = new ArrayList<>(columns);
        for (int i = 0; i < columns; i++) {
            out.add(new Tuple2<>(i, i < n ? numeric[i] : categorical[i - n]));
        }
        return out.iterator();
    }

    private static Serializable merge(Serializable a, Serializable b) {
        return a instanceof NumericCounts x ? x.merge((NumericCounts) b) : ((CategoryCounts) a).merge((CategoryCounts) b);
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

    static String window(int k) {
        return k == 0 ? "reference" : "current";
    }
}
