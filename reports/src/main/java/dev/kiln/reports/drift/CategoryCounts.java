package dev.kiln.reports.drift;

import dev.kiln.reports.drift.DriftStatistics.Kind;
import dev.kiln.reports.drift.DriftStatistics.Metric;
import dev.kiln.reports.drift.DriftStatistics.ProfileValue;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * Exact counts of every category of one categorical column in the reference (window 0) and current (window 1)
 * data, and the column's statistics computed from them. Categories are kept as Spark's UTF-8 strings, so that
 * ties among the top values break in the same (byte) order as SQL's ORDER BY.
 */
final class CategoryCounts implements Serializable {
    private static final long serialVersionUID = 1L;

    private final long[] nulls = new long[2];
    private final HashMap<UTF8String, long[]> counts = new HashMap<>();

    void addNull(int window) {
        nulls[window]++;
    }

    /** {@code value} may be a view into a reused row: it is copied only when first seen. */
    void add(UTF8String value, int window) {
        long[] c = counts.get(value);
        if (c == null) {
            c = new long[2];
            counts.put(value.clone(), c);
        }
        c[window]++;
    }

    CategoryCounts merge(CategoryCounts other) {
        CategoryCounts big = counts.size() >= other.counts.size() ? this : other;
        CategoryCounts small = big == this ? other : this;
        small.counts.forEach((k, v) -> {
            long[] c = big.counts.computeIfAbsent(k, x -> new long[2]);
            c[0] += v[0];
            c[1] += v[1];
        });
        big.nulls[0] += small.nulls[0];
        big.nulls[1] += small.nulls[1];
        return big;
    }

    /** The drift metrics and both windows' profiles of column {@code name}; definitions in {@link DriftStatistics}. */
    DriftStatistics.ColumnResult summarize(String name) {
        List<Map.Entry<UTF8String, long[]>> categories = new ArrayList<>(counts.entrySet());
        categories.sort(Map.Entry.comparingByKey());
        long[] total = new long[2];
        long[] distinct = new long[2];
        for (Map.Entry<UTF8String, long[]> e : categories) {
            for (int k = 0; k < 2; k++) {
                total[k] += e.getValue()[k];
                distinct[k] += e.getValue()[k] > 0 ? 1 : 0;
            }
        }
        long[] rows = {total[0] + nulls[0], total[1] + nulls[1]};
        boolean both = total[0] > 0 && total[1] > 0;
        double js = 0;
        double chi = 0;
        long unseen = 0;
        for (Map.Entry<UTF8String, long[]> e : categories) {
            long r = e.getValue()[0];
            long c = e.getValue()[1];
            if (r == 0) {
                unseen += c;
            }
            if (both) {
                double p = (double) r / total[0];
                double q = (double) c / total[1];
                double m = (p + q) / 2;
                js += ((r > 0 ? p * log2(p / m) : 0.0) + (c > 0 ? q * log2(q / m) : 0.0)) / 2;
                double expectedRef = (double) (r + c) * total[0] / (total[0] + total[1]);
                double expectedCur = (double) (r + c) * total[1] / (total[0] + total[1]);
                chi += (r - expectedRef) * (r - expectedRef) / expectedRef + (c - expectedCur) * (c - expectedCur) / expectedCur;
            }
        }
        List<ProfileValue> profile = new ArrayList<>();
        double[] nullRate = new double[2];
        for (int k = 0; k < 2; k++) {
            String w = DriftStatistics.window(k);
            nullRate[k] = rows[k] == 0 ? 0 : (double) nulls[k] / rows[k];
            profile.add(new ProfileValue(w, name, Kind.CATEGORICAL, "count", (double) rows[k], null));
            profile.add(new ProfileValue(w, name, Kind.CATEGORICAL, "nulls", (double) nulls[k], null));
            profile.add(new ProfileValue(w, name, Kind.CATEGORICAL, "null_rate", nullRate[k], null));
            profile.add(new ProfileValue(w, name, Kind.CATEGORICAL, "distinct", (double) distinct[k], null));
        }
        for (int k = 0; k < 2; k++) {
            int window = k;
            List<Map.Entry<UTF8String, long[]>> top = categories.stream().filter(e -> e.getValue()[window] > 0)
                    .sorted(Comparator.<Map.Entry<UTF8String, long[]>>comparingLong(e -> -e.getValue()[window])
                            .thenComparing(Map.Entry.comparingByKey()))
                    .limit(DriftStatistics.TOP_VALUES).toList();
            for (int i = 0; i < top.size(); i++) {
                profile.add(new ProfileValue(DriftStatistics.window(k), name, Kind.CATEGORICAL, "top_" + (i + 1),
                        (double) top.get(i).getValue()[k], top.get(i).getKey().toString()));
            }
        }
        List<Metric> drift = new ArrayList<>();
        drift.add(new Metric(name, Kind.CATEGORICAL, "null_rate_change", nullRate[1] - nullRate[0]));
        drift.add(new Metric(name, Kind.CATEGORICAL, "js_distance", both ? Math.sqrt(Math.max(0, js)) : null));
        drift.add(new Metric(name, Kind.CATEGORICAL, "chi_square", both ? chi : null));
        drift.add(new Metric(name, Kind.CATEGORICAL, "unseen_share", total[1] == 0 ? null : (double) unseen / total[1]));
        return new DriftStatistics.ColumnResult(rows, drift, profile);
    }

    private static double log2(double x) {
        return Math.log(x) / Math.log(2);
    }
}
