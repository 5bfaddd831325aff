package dev.kiln.reports.drift;

import static org.apache.spark.sql.functions.col;

import dev.kiln.reports.drift.DriftStatistics.ColumnResult;
import dev.kiln.reports.drift.DriftStatistics.Kind;
import dev.kiln.reports.drift.DriftStatistics.Metric;
import dev.kiln.reports.drift.DriftStatistics.ProfileValue;
import dev.kiln.training.ExactSum;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;

/**
 * The numeric columns' statistics from a distributed sort of their distinct values: the (column, value) counts
 * per window are aggregated in Spark, range-partitioned and sorted by column then value; a first pass gives one
 * small summary per partition and column (counts, nulls, distinct values, min, max, exact sum), the driver turns
 * those into each partition's cumulative counts, and a second pass finds the quantiles, KS and the squares about
 * the mean from those offsets. Every value is exact (integer counts, {@link ExactSum} sums, quantiles by integer
 * comparison) and independent of where the partition bounds fall; no task or driver holds a column's distinct
 * values. Definitions in {@link DriftStatistics}.
 */
final class NumericColumns {
    private NumericColumns() {}

    /** One partition's summary of one column. */
    static final class Part implements Serializable {
        private static final long serialVersionUID = 1L;
        final int partition;
        final int column;
        final long[] count = new long[2];
        final long[] nulls = new long[2];
        final long[] distinct = new long[2];
        final double[] min = {Double.NaN, Double.NaN};
        final double[] max = {Double.NaN, Double.NaN};
        final ExactSum[] sum = {new ExactSum(), new ExactSum()};
        final ExactSum[] sumOfSquares = {new ExactSum(), new ExactSum()};

        Part(int partition, int column) {
            this.partition = partition;
            this.column = column;
        }
    }

    /** One partition's second-pass results of one column: squares about the mean, quantiles found, largest CDF gap. */
    static final class Scan implements Serializable {
        private static final long serialVersionUID = 1L;
        final int column;
        final ExactSum[] squares = {new ExactSum(), new ExactSum()};
        final List<Hit> quantiles = new ArrayList<>();
        final long[][] bins = new long[2][DriftStatistics.HISTOGRAM_BINS];
        double ks;

        Scan(int column) {
            this.column = column;
        }
    }

    /** A quantile sought: the {@code q/of} quantile of window {@code window} (0 reference, 1 current). */
    record Target(int window, int q, int of) implements Serializable {
        /** Whether {@code cumulative} of {@code total} rows still lie below this quantile. */
        boolean below(long cumulative, long total) {
            return cumulative * of < total * q;
        }
    }

    /** Where a target was reached: the value, and both windows' cumulative counts up to and including it. */
    record Hit(int target, double value, long cumulativeRef, long cumulativeCur) implements Serializable {}

    /** Quantile targets: the percentiles of each window, then the reference deciles (PSI's cut points). */
    private static final List<Target> TARGETS = targets();

    private static List<Target> targets() {
        List<Target> t = new ArrayList<>();
        for (int k = 0; k < 2; k++) {
            for (int p : DriftStatistics.PERCENTILES) {
                t.add(new Target(k, p, 100));
            }
        }
        for (int d = 1; d < DriftStatistics.DECILES; d++) {
            t.add(new Target(0, d, DriftStatistics.DECILES));
        }
        return List.copyOf(t);
    }

    /** Rows {@code (i, v, r, c)} of every value of columns n0..n{columns-1}, range partitioned and sorted by (i, v). */
    static Dataset<Row> sortedCounts(Dataset<Row> both, int columns) {
        return DriftStatistics.valueCounts(both, "n", columns).repartitionByRange(col("i").asc(), col("v").asc_nulls_last())
                .sortWithinPartitions(col("i").asc(), col("v").asc_nulls_last());
    }

    /** The statistics of numeric columns n0..n{names-1} of {@code both} (window tag w), in column order. */
    static List<ColumnResult> compute(Dataset<Row> both, List<String> names) {
        int columns = names.size();
        JavaRDD<InternalRow> sorted = sortedCounts(both, columns).queryExecution().toRdd().toJavaRDD();

        List<Part> parts = sorted.mapPartitionsWithIndex((index, it) -> {
            List<Part> out = new ArrayList<>();
            Part part = null;
            while (it.hasNext()) {
                InternalRow r = it.next();
                int i = r.getInt(0);
                if (part == null || part.column != i) {
                    part = new Part(index, i);
                    out.add(part);
                }
                long[] c = {r.getLong(2), r.getLong(3)};
                if (r.isNullAt(1)) {
                    part.nulls[0] += c[0];
                    part.nulls[1] += c[1];
                    continue;
                }
                double v = r.getDouble(1);
                for (int k = 0; k < 2; k++) {
                    if (c[k] > 0) {
                        part.count[k] += c[k];
                        part.distinct[k]++;
                        part.sum[k].add(v * c[k]);
                        part.sumOfSquares[k].add(v * v * c[k]);
                        if (Double.isNaN(part.min[k])) {
                            part.min[k] = v;
                        }
                        part.max[k] = v;
                    }
                }
            }
            return out.iterator();
        }, true).collect();

        // Per column: totals, and each partition's counts before it (partitions ascend in value order).
        List<Part> ordered = new ArrayList<>(parts);
        ordered.sort(Comparator.comparingInt(p -> p.partition));
        Map<Integer, Part> totals = new TreeMap<>();
        Map<Long, long[]> offsets = new HashMap<>();
        for (Part p : ordered) {
            Part t = totals.computeIfAbsent(p.column, c -> new Part(-1, c));
            offsets.put((long) p.partition << 32 | p.column, t.count.clone());
            for (int k = 0; k < 2; k++) {
                t.count[k] += p.count[k];
                t.nulls[k] += p.nulls[k];
                t.distinct[k] += p.distinct[k];
                t.sum[k].add(p.sum[k]);
                t.sumOfSquares[k].add(p.sumOfSquares[k]);
                if (Double.isNaN(t.min[k])) {
                    t.min[k] = p.min[k];
                }
                if (!Double.isNaN(p.max[k])) {
                    t.max[k] = p.max[k];
                }
            }
        }
        Map<Integer, double[]> means = new HashMap<>();
        Map<Integer, long[]> sizes = new HashMap<>();
        Map<Integer, Range> ranges = new HashMap<>();
        totals.forEach((c, t) -> {
            ranges.put(c, Range.of(t));
            sizes.put(c, t.count.clone());
            means.put(c, new double[] {t.count[0] > 0 ? t.sum[0].value() / t.count[0] : Double.NaN,
                    t.count[1] > 0 ? t.sum[1].value() / t.count[1] : Double.NaN});
        });
        List<Target> targets = TARGETS;

        List<Scan> scans = sorted.mapPartitionsWithIndex((index, it) -> {
            List<Scan> out = new ArrayList<>();
            Scan scan = null;
            long[] total = null;
            double[] mean = null;
            long[] cum = null;
            boolean[] pending = null;
            Range range = null;
            while (it.hasNext()) {
                InternalRow r = it.next();
                int i = r.getInt(0);
                if (scan == null || scan.column != i) {
                    scan = new Scan(i);
                    out.add(scan);
                    total = sizes.get(i);
                    mean = means.get(i);
                    range = ranges.get(i);
                    cum = offsets.get((long) index << 32 | i).clone();
                    pending = new boolean[targets.size()];
                    for (int t = 0; t < pending.length; t++) {
                        Target q = targets.get(t);
                        pending[t] = total[q.window()] > 0 && q.below(cum[q.window()], total[q.window()]);
                    }
                }
                if (r.isNullAt(1)) {
                    continue;
                }
                double v = r.getDouble(1);
                long[] c = {r.getLong(2), r.getLong(3)};
                int bin = range.bin(v);
                for (int k = 0; k < 2; k++) {
                    cum[k] += c[k];
                    scan.bins[k][bin] += c[k];
                    if (c[k] > 0) {
                        double d = v - mean[k];
                        scan.squares[k].add(d * d * c[k]);
                    }
                }
                for (int t = 0; t < pending.length; t++) {
                    Target q = targets.get(t);
                    if (pending[t] && !q.below(cum[q.window()], total[q.window()])) {
                        pending[t] = false;
                        scan.quantiles.add(new Hit(t, v, cum[0], cum[1]));
                    }
                }
                if (total[0] > 0 && total[1] > 0) {
                    scan.ks = Math.max(scan.ks, Math.abs((double) cum[0] / total[0] - (double) cum[1] / total[1]));
                }
            }
            return out.iterator();
        }, true).collect();

        List<ColumnResult> results = new ArrayList<>();
        for (int i = 0; i < columns; i++) {
            Part t = totals.get(i);
            ExactSum[] squares = {new ExactSum(), new ExactSum()};
            Hit[] quantile = new Hit[targets.size()];
            long[][] bins = new long[2][DriftStatistics.HISTOGRAM_BINS];
            double ks = 0;
            for (Scan s : scans) {
                if (s.column == i) {
                    for (int k = 0; k < 2; k++) {
                        for (int b = 0; b < bins[k].length; b++) {
                            bins[k][b] += s.bins[k][b];
                        }
                    }
                    squares[0].add(s.squares[0]);
                    squares[1].add(s.squares[1]);
                    for (Hit q : s.quantiles) {
                        quantile[q.target()] = q;
                    }
                    ks = Math.max(ks, s.ks);
                }
            }
            Part total = t == null ? new Part(-1, i) : t;
            results.add(summarize(names.get(i), total, squares, quantile, ks, histogram(names.get(i), Range.of(total), bins)));
        }
        return results;
    }

    /**
     * The range a column's histogram bins cover ({@link DriftStatistics.BinCount}): both windows' values, within
     * {@value DriftStatistics#HISTOGRAM_SPREAD} standard deviations of their mean (a few outliers do not squeeze the
     * rest into one bin); values beyond it count in the first or last bin. Empty (lo NaN) when the column has no
     * non-null value. From exact sums, so the edges do not depend on the partitioning.
     */
    record Range(double lo, double hi) implements Serializable {
        static Range of(Part t) {
            double min = Double.NaN;
            double max = Double.NaN;
            ExactSum sum = new ExactSum();
            ExactSum squares = new ExactSum();
            long n = 0;
            for (int k = 0; k < 2; k++) {
                if (t.count[k] > 0) {
                    min = Double.isNaN(min) ? t.min[k] : Math.min(min, t.min[k]);
                    max = Double.isNaN(max) ? t.max[k] : Math.max(max, t.max[k]);
                    sum.add(t.sum[k]);
                    squares.add(t.sumOfSquares[k]);
                    n += t.count[k];
                }
            }
            if (n == 0) {
                return new Range(Double.NaN, Double.NaN);
            }
            double mean = sum.value() / n;
            double spread = DriftStatistics.HISTOGRAM_SPREAD * Math.sqrt(Math.max(0, squares.value() / n - mean * mean));
            double lo = Math.max(min, mean - spread);
            double hi = Math.min(max, mean + spread);
            return lo < hi ? new Range(lo, hi) : new Range(min, max);
        }

        int bins() {
            return Double.isNaN(lo) ? 0 : lo == hi ? 1 : DriftStatistics.HISTOGRAM_BINS;
        }

        int bin(double v) {
            if (lo == hi) {
                return 0;
            }
            int b = (int) Math.floor((v - lo) / ((hi - lo) / DriftStatistics.HISTOGRAM_BINS));
            return Math.max(0, Math.min(DriftStatistics.HISTOGRAM_BINS - 1, b));
        }

        double edge(int b) {
            return b == bins() ? hi : lo + (hi - lo) / DriftStatistics.HISTOGRAM_BINS * b;
        }
    }

    private static List<DriftStatistics.BinCount> histogram(String name, Range range, long[][] bins) {
        List<DriftStatistics.BinCount> out = new ArrayList<>();
        for (int k = 0; k < 2; k++) {
            for (int b = 0; b < range.bins(); b++) {
                out.add(new DriftStatistics.BinCount(DriftStatistics.window(k), name, b, range.edge(b), range.edge(b + 1), bins[k][b]));
            }
        }
        return out;
    }

    private static ColumnResult summarize(String name, Part t, ExactSum[] squares, Hit[] quantile, double ks,
            List<DriftStatistics.BinCount> histogram) {
        long[] total = t.count;
        long[] rows = {total[0] + t.nulls[0], total[1] + t.nulls[1]};
        List<Metric> drift = new ArrayList<>();
        List<ProfileValue> profile = new ArrayList<>();
        Double[] mean = new Double[2];
        Double[] std = new Double[2];
        double[] nullRate = new double[2];
        for (int k = 0; k < 2; k++) {
            mean[k] = total[k] > 0 ? t.sum[k].value() / total[k] : null;
            std[k] = total[k] > 1 ? Math.sqrt(squares[k].value() / (total[k] - 1)) : null;
            nullRate[k] = rows[k] == 0 ? 0 : (double) t.nulls[k] / rows[k];
            String w = DriftStatistics.window(k);
            profile.add(new ProfileValue(w, name, Kind.NUMERIC, "count", (double) rows[k], null));
            profile.add(new ProfileValue(w, name, Kind.NUMERIC, "nulls", (double) t.nulls[k], null));
            profile.add(new ProfileValue(w, name, Kind.NUMERIC, "null_rate", nullRate[k], null));
            profile.add(new ProfileValue(w, name, Kind.NUMERIC, "mean", mean[k], null));
            profile.add(new ProfileValue(w, name, Kind.NUMERIC, "std", std[k], null));
            profile.add(new ProfileValue(w, name, Kind.NUMERIC, "min", total[k] > 0 ? t.min[k] : null, null));
            profile.add(new ProfileValue(w, name, Kind.NUMERIC, "max", total[k] > 0 ? t.max[k] : null, null));
            profile.add(new ProfileValue(w, name, Kind.NUMERIC, "distinct", (double) t.distinct[k], null));
            for (int j = 0; j < DriftStatistics.PERCENTILES.length; j++) {
                Hit q = quantile[k * DriftStatistics.PERCENTILES.length + j];
                profile.add(new ProfileValue(w, name, Kind.NUMERIC, String.format("p%02d", DriftStatistics.PERCENTILES[j]),
                        q == null ? null : q.value(), null));
            }
        }
        boolean scaled = std[0] != null && std[0] > 0;
        drift.add(new Metric(name, Kind.NUMERIC, DriftMetric.MEAN_SHIFT.text(), scaled && mean[1] != null ? (mean[1] - mean[0]) / std[0] : null));
        drift.add(new Metric(name, Kind.NUMERIC, DriftMetric.STD_SHIFT.text(), scaled && std[1] != null ? (std[1] - std[0]) / std[0] : null));
        drift.add(new Metric(name, Kind.NUMERIC, DriftMetric.NULL_RATE_CHANGE.text(), nullRate[1] - nullRate[0]));
        boolean both = total[0] > 0 && total[1] > 0;
        drift.add(new Metric(name, Kind.NUMERIC, DriftMetric.KS.text(), both ? ks : null));
        drift.add(new Metric(name, Kind.NUMERIC, DriftMetric.PSI.text(), both ? psi(quantile, total) : null));
        return new ColumnResult(rows, drift, profile, histogram);
    }

    /**
     * PSI over bins cut at the reference deciles (ties collapse bins); a value goes to the first bin it does not
     * exceed, so a bin's counts are the cumulative counts at its upper edge less those at the edge below.
     */
    private static double psi(Hit[] quantile, long[] total) {
        TreeMap<Double, Hit> edges = new TreeMap<>();
        int first = 2 * DriftStatistics.PERCENTILES.length;
        for (int d = 0; d < DriftStatistics.DECILES - 1; d++) {
            Hit q = quantile[first + d];
            edges.put(q.value(), q);
        }
        double psi = 0;
        long belowRef = 0;
        long belowCur = 0;
        List<Hit> cuts = new ArrayList<>(edges.values());
        cuts.add(new Hit(-1, Double.NaN, total[0], total[1]));
        for (Hit cut : cuts) {
            double r = Math.max((double) (cut.cumulativeRef() - belowRef) / total[0], DriftStatistics.PSI_FLOOR);
            double c = Math.max((double) (cut.cumulativeCur() - belowCur) / total[1], DriftStatistics.PSI_FLOOR);
            psi += (c - r) * Math.log(c / r);
            belowRef = cut.cumulativeRef();
            belowCur = cut.cumulativeCur();
        }
        return psi;
    }
}
