package dev.kiln.reports.drift;


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
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * The categorical columns' statistics from their (column, category) counts per window, aggregated in Spark and
 * left distributed: a first pass gives each partition's totals, nulls, distinct categories and its top
 * {@value DriftStatistics#TOP_VALUES} per window (a category is in one partition only, so the merged top values
 * are exact); a second pass adds up the Jensen-Shannon, chi-square and unseen terms with the totals known. Sums
 * are exact ({@link ExactSum}): the result does not depend on the partitioning. Definitions in
 * {@link DriftStatistics}; ties among the top values break in byte order, as SQL's ORDER BY.
 */
final class CategoricalColumns {
    private CategoricalColumns() {}

    /** One category and its count in one window. */
    record Top(byte[] category, long count) implements Serializable {}

    private static final Comparator<Top> TOP_ORDER = Comparator.<Top>comparingLong(t -> -t.count())
            .thenComparing((a, b) -> UTF8String.fromBytes(a.category()).compareTo(UTF8String.fromBytes(b.category())));

    static final class Part implements Serializable {
        private static final long serialVersionUID = 1L;
        final int column;
        final long[] count = new long[2];
        final long[] nulls = new long[2];
        final long[] distinct = new long[2];
        final List<List<Top>> top = List.of(new ArrayList<>(), new ArrayList<>());

        Part(int column) {
            this.column = column;
        }

        void offer(int window, Top t) {
            List<Top> list = top.get(window);
            list.add(t);
            list.sort(TOP_ORDER);
            if (list.size() > DriftStatistics.TOP_VALUES) {
                list.remove(list.size() - 1);
            }
        }
    }

    static final class Scan implements Serializable {
        private static final long serialVersionUID = 1L;
        final int column;
        final ExactSum js = new ExactSum();
        final ExactSum chi = new ExactSum();
        long unseen;

        Scan(int column) {
            this.column = column;
        }
    }

    /** The statistics of categorical columns c0..c{names-1} of {@code both} (window tag w), in column order. */
    static List<ColumnResult> compute(Dataset<Row> both, List<String> names) {
        int columns = names.size();
        JavaRDD<InternalRow> counts = DriftStatistics.valueCounts(both, "c", columns).queryExecution().toRdd().toJavaRDD();

        List<Part> parts = counts.mapPartitions(it -> {
            Map<Integer, Part> out = new HashMap<>();
            while (it.hasNext()) {
                InternalRow r = it.next();
                Part part = out.computeIfAbsent(r.getInt(0), Part::new);
                long[] c = {r.getLong(2), r.getLong(3)};
                for (int k = 0; k < 2; k++) {
                    if (r.isNullAt(1)) {
                        part.nulls[k] += c[k];
                    } else if (c[k] > 0) {
                        part.count[k] += c[k];
                        part.distinct[k]++;
                        List<Top> top = part.top.get(k);
                        if (top.size() < DriftStatistics.TOP_VALUES || c[k] >= top.get(top.size() - 1).count()) {
                            part.offer(k, new Top(r.getUTF8String(1).getBytes(), c[k]));
                        }
                    }
                }
            }
            return new ArrayList<>(out.values()).iterator();
        }).collect();

        Map<Integer, Part> totals = new HashMap<>();
        for (Part p : parts) {
            Part t = totals.computeIfAbsent(p.column, Part::new);
            for (int k = 0; k < 2; k++) {
                t.count[k] += p.count[k];
                t.nulls[k] += p.nulls[k];
                t.distinct[k] += p.distinct[k];
                int window = k;
                p.top.get(k).forEach(x -> t.offer(window, x));
            }
        }
        Map<Integer, long[]> sizes = new HashMap<>();
        totals.forEach((c, t) -> sizes.put(c, t.count.clone()));

        List<Scan> scans = counts.mapPartitions(it -> {
            Map<Integer, Scan> out = new HashMap<>();
            while (it.hasNext()) {
                InternalRow row = it.next();
                if (row.isNullAt(1)) {
                    continue;
                }
                int i = row.getInt(0);
                Scan scan = out.computeIfAbsent(i, Scan::new);
                long[] total = sizes.get(i);
                long r = row.getLong(2);
                long c = row.getLong(3);
                if (r == 0) {
                    scan.unseen += c;
                }
                if (total[0] > 0 && total[1] > 0) {
                    double p = (double) r / total[0];
                    double q = (double) c / total[1];
                    double m = (p + q) / 2;
                    scan.js.add(((r > 0 ? p * log2(p / m) : 0.0) + (c > 0 ? q * log2(q / m) : 0.0)) / 2);
                    double expectedRef = (double) (r + c) * total[0] / (total[0] + total[1]);
                    double expectedCur = (double) (r + c) * total[1] / (total[0] + total[1]);
                    scan.chi.add((r - expectedRef) * (r - expectedRef) / expectedRef
                            + (c - expectedCur) * (c - expectedCur) / expectedCur);
                }
            }
            return new ArrayList<>(out.values()).iterator();
        }).collect();

        List<ColumnResult> results = new ArrayList<>();
        for (int i = 0; i < columns; i++) {
            Part t = totals.getOrDefault(i, new Part(i));
            Scan s = new Scan(i);
            for (Scan x : scans) {
                if (x.column == i) {
                    s.js.add(x.js);
                    s.chi.add(x.chi);
                    s.unseen += x.unseen;
                }
            }
            results.add(summarize(names.get(i), t, s));
        }
        return results;
    }

    private static ColumnResult summarize(String name, Part t, Scan s) {
        long[] total = t.count;
        long[] rows = {total[0] + t.nulls[0], total[1] + t.nulls[1]};
        boolean both = total[0] > 0 && total[1] > 0;
        List<ProfileValue> profile = new ArrayList<>();
        double[] nullRate = new double[2];
        for (int k = 0; k < 2; k++) {
            String w = DriftStatistics.window(k);
            nullRate[k] = rows[k] == 0 ? 0 : (double) t.nulls[k] / rows[k];
            profile.add(new ProfileValue(w, name, Kind.CATEGORICAL, "count", (double) rows[k], null));
            profile.add(new ProfileValue(w, name, Kind.CATEGORICAL, "nulls", (double) t.nulls[k], null));
            profile.add(new ProfileValue(w, name, Kind.CATEGORICAL, "null_rate", nullRate[k], null));
            profile.add(new ProfileValue(w, name, Kind.CATEGORICAL, "distinct", (double) t.distinct[k], null));
        }
        for (int k = 0; k < 2; k++) {
            List<Top> top = t.top.get(k);
            for (int i = 0; i < top.size(); i++) {
                profile.add(new ProfileValue(DriftStatistics.window(k), name, Kind.CATEGORICAL, "top_" + (i + 1),
                        (double) top.get(i).count(), UTF8String.fromBytes(top.get(i).category()).toString()));
            }
        }
        List<Metric> drift = new ArrayList<>();
        drift.add(new Metric(name, Kind.CATEGORICAL, DriftMetric.NULL_RATE_CHANGE.text(), nullRate[1] - nullRate[0]));
        drift.add(new Metric(name, Kind.CATEGORICAL, DriftMetric.JS_DISTANCE.text(), both ? Math.sqrt(Math.max(0, s.js.value())) : null));
        drift.add(new Metric(name, Kind.CATEGORICAL, DriftMetric.CHI_SQUARE.text(), both ? s.chi.value() : null));
        drift.add(new Metric(name, Kind.CATEGORICAL, DriftMetric.UNSEEN_SHARE.text(), total[1] == 0 ? null : (double) s.unseen / total[1]));
        return new ColumnResult(rows, drift, profile, List.of());
    }

    private static double log2(double x) {
        return Math.log(x) / Math.log(2);
    }
}
