package dev.kiln.reports.drift;

import dev.kiln.reports.drift.DriftStatistics.Kind;
import dev.kiln.reports.drift.DriftStatistics.Metric;
import dev.kiln.reports.drift.DriftStatistics.ProfileValue;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * Exact counts of every value of one numeric column in the reference (window 0) and current (window 1) data,
 * in an open-addressing table keyed by the value's bits, and the column's statistics computed from them. NaN
 * is counted as null before it gets here, and -0.0 as 0.0 (one value, as in a SQL GROUP BY).
 */
final class NumericCounts implements Serializable {
    private static final long serialVersionUID = 1L;
    /** A NaN bit pattern: never a key, since NaN never is a value here. */
    private static final long FREE = 0x7ff8_0000_0000_0001L;

    private final long[] nulls = new long[2];
    private long[] keys;
    private long[] ref;
    private long[] cur;
    private int size;

    NumericCounts() {
        allocate(64);
    }

    private void allocate(int capacity) {
        keys = new long[capacity];
        java.util.Arrays.fill(keys, FREE);
        ref = new long[capacity];
        cur = new long[capacity];
    }

    void addNull(int window) {
        nulls[window]++;
    }

    void add(double value, int window) {
        add(Double.doubleToLongBits(value == 0.0 ? 0.0 : value), window == 0 ? 1 : 0, window == 0 ? 0 : 1);
    }

    private void add(long bits, long nRef, long nCur) {
        int mask = keys.length - 1;
        int i = slot(bits, mask);
        while (keys[i] != FREE && keys[i] != bits) {
            i = (i + 1) & mask;
        }
        if (keys[i] == FREE) {
            keys[i] = bits;
            if (++size * 2 > keys.length) {
                ref[i] += nRef;
                cur[i] += nCur;
                grow();
                return;
            }
        }
        ref[i] += nRef;
        cur[i] += nCur;
    }

    /** MurmurHash3's 64-bit finalizer: every bit of the value moves the slot (doubles often end in zero bits). */
    private static int slot(long bits, int mask) {
        long h = bits;
        h ^= h >>> 33;
        h *= 0xff51_afd7_ed55_8ccdL;
        h ^= h >>> 33;
        h *= 0xc4ce_b9fe_1a85_ec53L;
        h ^= h >>> 33;
        return (int) h & mask;
    }

    private void grow() {
        long[] k = keys;
        long[] r = ref;
        long[] c = cur;
        allocate(k.length * 2);
        size = 0;
        for (int i = 0; i < k.length; i++) {
            if (k[i] != FREE) {
                add(k[i], r[i], c[i]);
            }
        }
    }

    NumericCounts merge(NumericCounts other) {
        NumericCounts big = size >= other.size ? this : other;
        NumericCounts small = big == this ? other : this;
        for (int i = 0; i < small.keys.length; i++) {
            if (small.keys[i] != FREE) {
                big.add(small.keys[i], small.ref[i], small.cur[i]);
            }
        }
        big.nulls[0] += small.nulls[0];
        big.nulls[1] += small.nulls[1];
        return big;
    }

    /**
     * The drift metrics and both windows' profiles of column {@code name}, from its exact counts; definitions in
     * {@link DriftStatistics}.
     */
    DriftStatistics.ColumnResult summarize(String name) {
        int n = size;
        double[] values = new double[n];
        int j = 0;
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] != FREE) {
                values[j++] = Double.longBitsToDouble(keys[i]);
            }
        }
        java.util.Arrays.sort(values);
        long[][] counts = new long[2][n];
        for (int v = 0; v < n; v++) {
            long bits = Double.doubleToLongBits(values[v]);
            int mask = keys.length - 1;
            int i = slot(bits, mask);
            while (keys[i] != bits) {
                i = (i + 1) & mask;
            }
            counts[0][v] = ref[i];
            counts[1][v] = cur[i];
        }
        long[] total = new long[2];
        double[] sum = new double[2];
        for (int v = 0; v < n; v++) {
            for (int k = 0; k < 2; k++) {
                total[k] += counts[k][v];
                sum[k] += values[v] * counts[k][v];
            }
        }
        long[] rows = {total[0] + nulls[0], total[1] + nulls[1]};
        List<Metric> drift = new ArrayList<>();
        List<ProfileValue> profile = new ArrayList<>();
        Double[] mean = new Double[2];
        Double[] std = new Double[2];
        double[] nullRate = new double[2];
        for (int k = 0; k < 2; k++) {
            long[] c = counts[k];
            mean[k] = total[k] > 0 ? sum[k] / total[k] : null;
            double squares = 0;
            Double min = null;
            Double max = null;
            long distinct = 0;
            for (int v = 0; v < n; v++) {
                if (c[v] > 0) {
                    double d = values[v] - mean[k];
                    squares += d * d * c[v];
                    min = min == null ? values[v] : min;
                    max = values[v];
                    distinct++;
                }
            }
            std[k] = total[k] > 1 ? Math.sqrt(squares / (total[k] - 1)) : null;
            nullRate[k] = rows[k] == 0 ? 0 : (double) nulls[k] / rows[k];
            String w = DriftStatistics.window(k);
            profile.add(new ProfileValue(w, name, Kind.NUMERIC, "count", (double) rows[k], null));
            profile.add(new ProfileValue(w, name, Kind.NUMERIC, "nulls", (double) nulls[k], null));
            profile.add(new ProfileValue(w, name, Kind.NUMERIC, "null_rate", nullRate[k], null));
            profile.add(new ProfileValue(w, name, Kind.NUMERIC, "mean", mean[k], null));
            profile.add(new ProfileValue(w, name, Kind.NUMERIC, "std", std[k], null));
            profile.add(new ProfileValue(w, name, Kind.NUMERIC, "min", min, null));
            profile.add(new ProfileValue(w, name, Kind.NUMERIC, "max", max, null));
            profile.add(new ProfileValue(w, name, Kind.NUMERIC, "distinct", (double) distinct, null));
            for (int p : DriftStatistics.PERCENTILES) {
                profile.add(new ProfileValue(w, name, Kind.NUMERIC, String.format("p%02d", p), quantile(values, c, total[k], p, 100), null));
            }
        }
        boolean scaled = std[0] != null && std[0] > 0;
        drift.add(new Metric(name, Kind.NUMERIC, "mean_shift", scaled && mean[1] != null ? (mean[1] - mean[0]) / std[0] : null));
        drift.add(new Metric(name, Kind.NUMERIC, "std_shift", scaled && std[1] != null ? (std[1] - std[0]) / std[0] : null));
        drift.add(new Metric(name, Kind.NUMERIC, "null_rate_change", nullRate[1] - nullRate[0]));
        boolean both = total[0] > 0 && total[1] > 0;
        Double ks = null;
        if (both) {
            long cumRef = 0;
            long cumCur = 0;
            double d = 0;
            for (int v = 0; v < n; v++) {
                cumRef += counts[0][v];
                cumCur += counts[1][v];
                d = Math.max(d, Math.abs((double) cumRef / total[0] - (double) cumCur / total[1]));
            }
            ks = d;
        }
        drift.add(new Metric(name, Kind.NUMERIC, "ks", ks));
        drift.add(new Metric(name, Kind.NUMERIC, "psi", both ? psi(values, counts, total) : null));
        return new DriftStatistics.ColumnResult(rows, drift, profile);
    }

    /** The smallest value whose empirical CDF reaches {@code q / of} (integer comparison: exact); null without values. */
    private static Double quantile(double[] values, long[] counts, long total, int q, int of) {
        long cum = 0;
        for (int v = 0; v < values.length; v++) {
            cum += counts[v];
            if (total > 0 && cum * of >= total * q) {
                return values[v];
            }
        }
        return null;
    }

    /** PSI over bins cut at the reference deciles (ties collapse bins); a value goes to the first bin it does not exceed. */
    private static double psi(double[] values, long[][] counts, long[] total) {
        TreeSet<Double> cut = new TreeSet<>();
        for (int k = 1; k < DriftStatistics.DECILES; k++) {
            cut.add(quantile(values, counts[0], total[0], k, DriftStatistics.DECILES));
        }
        double[] edges = cut.stream().mapToDouble(Double::doubleValue).toArray();
        long[][] bins = new long[2][edges.length + 1];
        int bin = 0;
        for (int v = 0; v < values.length; v++) { // values ascend, so the bin index only moves forward
            while (bin < edges.length && values[v] > edges[bin]) {
                bin++;
            }
            bins[0][bin] += counts[0][v];
            bins[1][bin] += counts[1][v];
        }
        double psi = 0;
        for (int b = 0; b < bins[0].length; b++) {
            double r = Math.max((double) bins[0][b] / total[0], DriftStatistics.PSI_FLOOR);
            double c = Math.max((double) bins[1][b] / total[1], DriftStatistics.PSI_FLOOR);
            psi += (c - r) * Math.log(c / r);
        }
        return psi;
    }
}
