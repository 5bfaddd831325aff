package dev.kiln.training;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import java.util.ArrayList;
import java.util.Arrays;
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
 * Areas under the ROC and precision-recall curves over every distinct score (no binning): from a distributed
 * sort of the distinct scores ({@link #byKey}), or on the driver for a small array of points. MLlib's evaluator bins scores along range-partition boundaries drawn by a seed
 * that depends on the RDD's id, so the same predictions can give areas that differ in the seventh digit from
 * one run to the next; these do not, which is what lets a retraining be compared exactly.
 */
public final class BinaryCurves {
    private BinaryCurves() {
    }

    /** The two areas for scores (higher means more likely positive) and 0/1 labels. */
    public record Areas(double roc, double pr, long positives, long negatives) {}

    /** Rows with one score (null allowed) that stand for {@code count} events, {@code positives} of them positive. */
    public record Point(Double score, long positives, long count) {}

    /** Spark's descending order: NaN above every number, null last. */
    private static final Comparator<Point> DESCENDING = Comparator.comparing(Point::score,
            Comparator.nullsLast(Comparator.<Double>reverseOrder()));

    public static Areas of(Dataset<Row> predictions, String score, String label) {
        return ofCounts(predictions.withColumn("__p", when(col(label).equalTo(1.0), 1L).otherwise(0L))
                .withColumn("__n", lit(1L)), score, "__p", "__n");
    }

    /** The same, for rows that each stand for {@code count} events of which {@code positives} were positive. */
    public static Areas ofCounts(Dataset<Row> rows, String score, String positiveCount, String count) {
        Areas a = byKey(rows.withColumn("__k", lit(0)), "__k", score, positiveCount, count).get(0);
        return a == null ? new Areas(Double.NaN, Double.NaN, 0, 0) : a;
    }

    /**
     * The areas of every group of rows with the same int {@code key} (one curve per key, e.g. per slice), in a
     * constant number of Spark jobs whatever the number of keys or distinct scores: the (key, score) groups are
     * range-partitioned and sorted by key, then descending score (NaN first, null last, as {@link #of(Point[])});
     * one pass counts each partition's positives and negatives per key (one small row per partition and key), the
     * driver turns them into each partition's offsets, and a second pass adds up the trapezoids of each partition
     * from its offsets. The trapezoids are the same numbers as in the sequential walk and their sum is exact
     * ({@link ExactSum}), so the areas do not depend on where the partition bounds fall. Nothing proportional to
     * the distinct scores reaches the driver or one task.
     */
    public static Map<Integer, Areas> byKey(Dataset<Row> rows, String key, String score, String positiveCount, String count) {
        return areas(Sorted.of(rows, key, score, positiveCount, count));
    }

    /**
     * Distinct scores per int key, range partitioned and sorted by key then descending score (NaN first, null
     * last), as rows {@code (k, s, p, n)}, with what each partition's keys have before it: the first pass of every
     * walk along the curves. A second pass ({@code sorted} again) reuses the sort's shuffle.
     *
     * @param offsets per (partition, key): thresholds, positives and negatives in earlier partitions
     * @param totals  per key: thresholds, positives and negatives
     */
    public record Sorted(JavaRDD<InternalRow> sorted, Map<Long, long[]> offsets, Map<Integer, long[]> totals) {
        public static Sorted of(Dataset<Row> rows, String key, String score, String positiveCount, String count) {
            Dataset<Row> groups = rows.groupBy(col(key).cast("int").as("k"), col(score).cast("double").as("s"))
                    .agg(sum(col(positiveCount)).cast("long").as("p"), sum(col(count)).cast("long").as("n"));
            JavaRDD<InternalRow> sorted = groups.repartitionByRange(col("k").asc(), col("s").desc_nulls_last())
                    .sortWithinPartitions(col("k").asc(), col("s").desc_nulls_last())
                    .queryExecution().toRdd().toJavaRDD();
            // Pass 1: per partition and key, the number of thresholds, positives and negatives.
            List<long[]> runs = sorted.mapPartitionsWithIndex((index, it) -> {
                List<long[]> out = new ArrayList<>();
                long[] run = null;
                while (it.hasNext()) {
                    InternalRow r = it.next();
                    int k = r.getInt(0);
                    if (run == null || run[1] != k) {
                        run = new long[] {index, k, 0, 0, 0};
                        out.add(run);
                    }
                    long p = r.isNullAt(2) ? 0 : r.getLong(2);
                    long n = r.isNullAt(3) ? 0 : r.getLong(3);
                    run[2]++;
                    run[3] += p;
                    run[4] += n - p;
                }
                return out.iterator();
            }, true).collect();
            // Offsets: what each key has in the partitions before this one; totals per key.
            Map<Long, long[]> offsets = new HashMap<>();
            Map<Integer, long[]> totals = new TreeMap<>();
            List<long[]> ordered = new ArrayList<>(runs);
            ordered.sort(Comparator.<long[]>comparingLong(r -> r[0]));
            for (long[] r : ordered) {
                long[] t = totals.computeIfAbsent((int) r[1], x -> new long[3]);
                offsets.put(offsetKey((int) r[0], (int) r[1]), t.clone());
                t[0] += r[2];
                t[1] += r[3];
                t[2] += r[4];
            }
            return new Sorted(sorted, offsets, totals);
        }

        /** The key of {@link #offsets} for a partition and key. */
        public static long offsetKey(int partition, int key) {
            return (long) partition << 32 | (key & 0xffff_ffffL);
        }
    }

    /** The areas of every key of a sort ({@link #byKey}'s second pass). */
    public static Map<Integer, Areas> areas(Sorted walk) {
        return curves(walk, 0).areas();
    }

    /**
     * A point of a key's curve: predicting positive at and above {@code threshold} gives {@code tp} true and
     * {@code fp} false positives. {@code index} is the threshold's rank among the key's distinct scores (0 the highest).
     */
    public record CurvePoint(int key, long index, double threshold, long tp, long fp) implements java.io.Serializable {}

    /** The areas of every key, and up to {@code pointsPerKey} exact points of each key's curve. */
    public record Curves(Map<Integer, Areas> areas, List<CurvePoint> points) {}

    /** One partition's share of one key's curve. */
    private record Part(int key, ExactSum roc, ExactSum pr, List<CurvePoint> points) implements java.io.Serializable {}

    /**
     * Whether the threshold of rank {@code index} among {@code thresholds} is one of the {@code k} kept: the ranks
     * {@code floor(j (thresholds - 1) / (k - 1))} for j = 0..k-1, so the highest and the lowest score are always kept
     * and the kept ones are evenly spread in rank. Between two kept points the exact curve, being monotone, stays
     * inside the box they span.
     */
    static boolean kept(long index, long thresholds, int k) {
        if (k <= 0) {
            return false;
        }
        if (thresholds <= k || k == 1) {
            return thresholds <= k || index == 0;
        }
        long j = -Math.floorDiv(-index * (k - 1), thresholds - 1); // the first j whose rank is not below index
        return j * (thresholds - 1) / (k - 1) == index;
    }

    /**
     * The areas and the kept curve points of every key, in one pass over the sort: each partition adds up its
     * trapezoids and picks its points from the offsets of the partitions before it.
     */
    public static Curves curves(Sorted walk, int pointsPerKey) {
        JavaRDD<InternalRow> sorted = walk.sorted();
        Map<Long, long[]> offsets = walk.offsets();
        Map<Integer, long[]> totals = walk.totals();
        Map<Integer, Areas> out = new TreeMap<>();
        List<CurvePoint> points = new ArrayList<>();
        Map<Integer, long[]> curves = new HashMap<>();
        totals.forEach((k, t) -> {
            if (t[1] == 0 || t[2] == 0) {
                out.put(k, new Areas(Double.NaN, Double.NaN, t[1], t[2]));
            } else {
                curves.put(k, t);
            }
        });
        if (!curves.isEmpty()) {
            // Pass 2: each partition's trapezoids, from its offsets.
            List<Part> parts = sorted.mapPartitionsWithIndex((index, it) -> {
                List<Part> sums = new ArrayList<>();
                int current = 0;
                long[] total = null;
                Part area = null;
                long thresholds = 0;
                long tp = 0;
                long fp = 0;
                while (it.hasNext()) {
                    InternalRow r = it.next();
                    int k = r.getInt(0);
                    if (area == null || k != current) {
                        current = k;
                        total = curves.get(k);
                        long[] before = offsets.get(Sorted.offsetKey(index, k));
                        thresholds = before[0];
                        tp = before[1];
                        fp = before[2];
                        area = new Part(k, new ExactSum(), new ExactSum(), new ArrayList<>());
                        sums.add(area);
                    }
                    if (total == null) {
                        continue; // one class only: no curve
                    }
                    long p = r.isNullAt(2) ? 0 : r.getLong(2);
                    long n = r.isNullAt(3) ? 0 : r.getLong(3);
                    double prevTpr = (double) tp / total[1];
                    double prevFpr = (double) fp / total[2];
                    double prevPrecision = thresholds == 0 ? -1 : (double) tp / (tp + fp);
                    tp += p;
                    fp += n - p;
                    if (!r.isNullAt(1) && kept(thresholds, total[0], pointsPerKey)) {
                        area.points().add(new CurvePoint(k, thresholds, r.getDouble(1), tp, fp));
                    }
                    thresholds++;
                    double tpr = (double) tp / total[1];
                    double fpr = (double) fp / total[2];
                    double precision = (double) tp / (tp + fp);
                    if (prevPrecision < 0) {
                        prevPrecision = precision; // the curve starts at recall 0 with the first threshold's precision
                    }
                    area.roc().add((fpr - prevFpr) * (tpr + prevTpr) / 2);
                    area.pr().add((tpr - prevTpr) * (precision + prevPrecision) / 2);
                }
                return sums.iterator();
            }, true).collect();
            Map<Integer, ExactSum[]> merged = new TreeMap<>();
            for (Part t : parts) {
                ExactSum[] m = merged.computeIfAbsent(t.key(), x -> new ExactSum[] {new ExactSum(), new ExactSum()});
                m[0].add(t.roc());
                m[1].add(t.pr());
                points.addAll(t.points());
            }
            points.sort(Comparator.comparingInt(CurvePoint::key).thenComparingLong(CurvePoint::index));
            merged.forEach((k, m) -> {
                long[] t = curves.get(k);
                if (t != null) {
                    out.put(k, new Areas(m[0].value(), m[1].value(), t[1], t[2]));
                }
            });
        }
        return new Curves(out, List.copyOf(points));
    }

    /** The areas over points in any order; points with the same score are one threshold. */
    public static Areas of(Point[] points) {
        Point[] sorted = points.clone();
        Arrays.sort(sorted, DESCENDING);
        long positives = 0;
        long total = 0;
        for (Point p : sorted) {
            positives += p.positives();
            total += p.count();
        }
        long negatives = total - positives;
        if (positives == 0 || negatives == 0) {
            return new Areas(Double.NaN, Double.NaN, positives, negatives);
        }
        double roc = 0;
        double pr = 0;
        long tp = 0;
        long fp = 0;
        double prevTpr = 0;
        double prevFpr = 0;
        double prevRecall = 0;
        double prevPrecision = -1;
        for (int i = 0; i < sorted.length; i++) {
            tp += sorted[i].positives();
            fp += sorted[i].count() - sorted[i].positives();
            if (i + 1 < sorted.length && java.util.Objects.equals(sorted[i + 1].score(), sorted[i].score())) {
                continue; // the same score in another group: one threshold
            }
            double tpr = (double) tp / positives;
            double fpr = (double) fp / negatives;
            roc += (fpr - prevFpr) * (tpr + prevTpr) / 2;
            double precision = (double) tp / (tp + fp);
            if (prevPrecision < 0) {
                prevPrecision = precision; // the curve starts at recall 0 with the first threshold's precision
            }
            pr += (tpr - prevRecall) * (precision + prevPrecision) / 2;
            prevTpr = tpr;
            prevFpr = fpr;
            prevRecall = tpr;
            prevPrecision = precision;
        }
        return new Areas(roc, pr, positives, negatives);
    }
}
