package dev.kiln.training;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import java.util.Arrays;
import java.util.Comparator;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * Areas under the ROC and precision-recall curves over every distinct score (no binning), computed on the
 * driver in a fixed order. MLlib's evaluator bins scores along range-partition boundaries drawn by a seed
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
        // One aggregation; the distinct scores are ordered on the driver (no range-partitioned sort job).
        Row[] groups = (Row[]) rows.groupBy(col(score).as("s"))
                .agg(sum(col(positiveCount)).cast("long").as("p"), sum(col(count)).cast("long").as("n"))
                .collect();
        Point[] points = new Point[groups.length];
        for (int i = 0; i < groups.length; i++) {
            Row r = groups[i];
            points[i] = new Point(r.isNullAt(0) ? null : r.getDouble(0), r.getLong(1), r.getLong(2));
        }
        return of(points);
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
