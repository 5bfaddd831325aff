package dev.kiln.training.decision;

import dev.kiln.training.BinaryCurves;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;

/**
 * Chooses a decision threshold over every distinct score of the validation predictions, in the distributed sort
 * the curves use ({@link BinaryCurves.Sorted}): one more pass in which each partition walks its scores from the
 * highest down, from the confusion counts of the partitions before it, and keeps its best candidate; the driver
 * takes the best of those and of the empty prediction. Nothing proportional to the distinct scores reaches the
 * driver. The best has the highest {@link DecisionPolicy#objective}, a tie going to the higher threshold, so the
 * result does not depend on where partitions are cut.
 */
public final class Thresholds {
    private Thresholds() {}

    /** One candidate: predicting positive at and above {@code threshold} gives {@code tp} and {@code fp}. */
    record Candidate(double objective, double threshold, long tp, long fp) implements Serializable {
        boolean beats(Candidate other) {
            return other == null || objective > other.objective
                    || objective == other.objective && Double.compare(threshold, other.threshold) > 0;
        }
    }

    /** The decision for rows {@code (score, positives, count)}: each row stands for count events with that score. */
    public static Decision choose(Dataset<Row> rows, String score, String positives, String count, DecisionPolicy policy) {
        BinaryCurves.Sorted walk = BinaryCurves.Sorted.of(rows.withColumn("__k", org.apache.spark.sql.functions.lit(0)),
                "__k", score, positives, count);
        return choose(walk, 0, policy);
    }

    /** The decision for the scores of {@code key} in a sort that may hold other keys too. */
    public static Decision choose(BinaryCurves.Sorted walk, int key, DecisionPolicy policy) {
        long[] total = walk.totals().getOrDefault(key, new long[3]);
        long positives = total[1];
        long negatives = total[2];
        Map<Long, long[]> offsets = walk.offsets();
        List<Candidate> best = walk.sorted().mapPartitionsWithIndex((index, it) -> {
            Candidate kept = null;
            long[] before = offsets.get(BinaryCurves.Sorted.offsetKey(index, key));
            long tp = before == null ? 0 : before[1];
            long fp = before == null ? 0 : before[2];
            while (it.hasNext()) {
                InternalRow r = it.next();
                if (r.getInt(0) != key) {
                    continue;
                }
                long p = r.isNullAt(2) ? 0 : r.getLong(2);
                long n = r.isNullAt(3) ? 0 : r.getLong(3);
                tp += p;
                fp += n - p;
                if (r.isNullAt(1) || Double.isNaN(r.getDouble(1))) {
                    continue; // no threshold at a missing score (its events still count below it)
                }
                double s = r.getDouble(1);
                Candidate c = new Candidate(policy.objective(s, tp, fp, positives, negatives), s, tp, fp);
                if (c.beats(kept)) {
                    kept = c;
                }
            }
            List<Candidate> out = new ArrayList<>();
            if (kept != null) {
                out.add(kept);
            }
            return out.iterator();
        }, true).collect();
        double none = Double.POSITIVE_INFINITY;
        Candidate chosen = new Candidate(policy.objective(none, 0, 0, positives, negatives), none, 0, 0);
        for (Candidate c : best) {
            if (c.beats(chosen)) {
                chosen = c;
            }
        }
        return decision(policy, chosen, positives);
    }

    /** The decision over points in any order, on the driver: the same choice as the distributed one. */
    public static Decision choose(BinaryCurves.Point[] points, DecisionPolicy policy) {
        BinaryCurves.Point[] sorted = points.clone();
        java.util.Arrays.sort(sorted, java.util.Comparator.comparing(BinaryCurves.Point::score,
                java.util.Comparator.nullsLast(java.util.Comparator.<Double>reverseOrder())));
        long positives = 0;
        long total = 0;
        for (BinaryCurves.Point p : sorted) {
            positives += p.positives();
            total += p.count();
        }
        long negatives = total - positives;
        double none = Double.POSITIVE_INFINITY;
        Candidate chosen = new Candidate(policy.objective(none, 0, 0, positives, negatives), none, 0, 0);
        long tp = 0;
        long fp = 0;
        for (int i = 0; i < sorted.length; i++) {
            tp += sorted[i].positives();
            fp += sorted[i].count() - sorted[i].positives();
            Double s = sorted[i].score();
            if (i + 1 < sorted.length && java.util.Objects.equals(sorted[i + 1].score(), s)) {
                continue; // the same score in another point: one threshold
            }
            if (s == null || s.isNaN()) {
                continue;
            }
            Candidate c = new Candidate(policy.objective(s, tp, fp, positives, negatives), s, tp, fp);
            if (c.beats(chosen)) {
                chosen = c;
            }
        }
        return decision(policy, chosen, positives);
    }

    private static Decision decision(DecisionPolicy policy, Candidate c, long positives) {
        double precision = c.tp + c.fp == 0 ? Double.NaN : (double) c.tp / (c.tp + c.fp);
        double recall = positives == 0 ? Double.NaN : (double) c.tp / positives;
        double f1 = c.tp == 0 ? 0.0 : 2.0 * c.tp / (c.tp + c.fp + positives);
        return new Decision(policy.text(), policy.stored(c.threshold), true, precision, recall, f1);
    }
}
