package dev.kiln.training;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

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

    public static Areas of(Dataset<Row> predictions, String score, String label) {
        return ofCounts(predictions.withColumn("__p", when(col(label).equalTo(1.0), 1L).otherwise(0L))
                .withColumn("__n", lit(1L)), score, "__p", "__n");
    }

    /** The same, for rows that each stand for {@code count} events of which {@code positives} were positive. */
    public static Areas ofCounts(Dataset<Row> rows, String score, String positiveCount, String count) {
        Row[] points = (Row[]) rows.groupBy(col(score).as("s"))
                .agg(sum(col(positiveCount)).cast("long").as("p"), sum(col(count)).cast("long").as("n"))
                .orderBy(col("s").desc()).select("p", "n").collect();
        long positives = 0;
        long total = 0;
        for (Row r : points) {
            positives += r.getLong(0);
            total += r.getLong(1);
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
        for (Row r : points) {
            tp += r.getLong(0);
            fp += r.getLong(1) - r.getLong(0);
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
