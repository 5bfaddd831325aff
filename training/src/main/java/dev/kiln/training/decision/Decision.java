package dev.kiln.training.decision;

import static org.apache.spark.sql.functions.lit;

import java.util.Map;
import org.apache.spark.sql.Column;

/**
 * How a binary model version turns a score into a predicted label, as stored in {@code ml.models.decision}:
 * positive when the score is at or above {@code threshold}, the threshold its {@code policy} chose on the
 * validation window, where it had {@code precision}, {@code recall} and {@code f1}. Versions registered before
 * thresholds were chosen keep MLlib's rule ({@link #mllib}): positive when the score is above the estimator's
 * {@code threshold} parameter (0.5 unless set), so their predictions and reports do not change.
 */
public record Decision(String policy, double threshold, boolean atOrAbove, double precision, double recall, double f1)
        implements java.io.Serializable {
    /** The policy text of {@link #mllib}. */
    public static final String MLLIB = "mllib";

    /** MLlib's own rule for a version that has no stored decision. */
    public static Decision mllib(Map<String, String> params) {
        return above(params.containsKey("threshold") ? Double.parseDouble(params.get("threshold")) : 0.5);
    }

    /** MLlib's rule at {@code threshold}: positive when the score is above it. */
    public static Decision above(double threshold) {
        return new Decision(MLLIB, threshold, false, Double.NaN, Double.NaN, Double.NaN);
    }

    /** Whether a score is predicted positive (as {@link #predicted} for a number). */
    public boolean positive(double score) {
        return atOrAbove ? score >= threshold : score > threshold;
    }

    /** The predicted label of {@code score}: a boolean column. */
    public Column predicted(Column score) {
        return atOrAbove ? score.geq(lit(threshold)) : score.gt(lit(threshold));
    }

    /** One line for {@code models describe} and training's progress. */
    public String describe() {
        if (policy.equals(MLLIB)) {
            return String.format("score > %s (MLlib's rule; registered before thresholds were chosen)", threshold);
        }
        return String.format("score >= %.6f (%s on validation: precision %.4f, recall %.4f, F1 %.4f)", threshold, policy,
                precision, recall, f1);
    }
}
