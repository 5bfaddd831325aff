package dev.kiln.reports.evaluation;

/**
 * One point of a slice's ROC and precision-recall curves, a row of {@code reports.evaluation_curves}: predicting
 * positive at and above {@code threshold} gives these counts. {@code point} is the threshold's rank among the
 * slice's distinct scores (0 the highest); up to {@link Evaluator#CURVE_POINTS} points a slice, evenly spread in
 * rank and always including the highest and the lowest score, each exact.
 */
public record CurvePoint(String slice, long point, double threshold, long truePositives, long falsePositives,
        long positives, long negatives) {
    public double recall() {
        return (double) truePositives / positives;
    }

    public double falsePositiveRate() {
        return (double) falsePositives / negatives;
    }

    public double precision() {
        return (double) truePositives / (truePositives + falsePositives);
    }
}
