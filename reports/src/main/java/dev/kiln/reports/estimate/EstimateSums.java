package dev.kiln.reports.estimate;

import dev.kiln.training.ExactSum;
import dev.kiln.training.decision.Decision;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The sums a confidence-based performance estimate needs for one slice of scored events, each score taken as the
 * event's probability of being positive (calibrated scores). With {@code p} the score and {@code y} the unknown
 * outcome, drawn independently as Bernoulli(p):
 * <ul>
 *   <li>{@code events}; {@code predicted}: events predicted positive by the model's decision;</li>
 *   <li>{@code tp} = sum of p over the predicted positives (expected true positives), {@code fn} = sum of p over the
 *       others (expected false negatives); {@code tpVariance}, {@code fnVariance}: the sums of p(1 - p) over each;</li>
 *   <li>{@code pairs}: the expected number of (positive, negative) pairs ordered right by score, ties counting half
 *       (an event is never paired with itself).</li>
 * </ul>
 * {@link #metrics} turns them into estimates with a 95 % band; the sums are exact ({@link ExactSum}) and add up
 * across partitions.
 */
public final class EstimateSums implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The z of a two-sided 95 % band. */
    static final double Z95 = 1.959963984540054;

    long events;
    long predicted;
    final ExactSum tp = new ExactSum();
    final ExactSum fn = new ExactSum();
    final ExactSum tpVariance = new ExactSum();
    final ExactSum fnVariance = new ExactSum();
    final ExactSum pairs = new ExactSum();

    /**
     * Adds {@code count} events of score {@code p}, every event with a higher score already added: {@code above}
     * is the expected positives among those.
     */
    void add(double p, long count, Decision decision, double above) {
        double positives = count * p;
        double negatives = count * (1 - p);
        double variance = count * p * (1 - p);
        events += count;
        if (decision.positive(p)) {
            predicted += count;
            tp.add(positives);
            tpVariance.add(variance);
        } else {
            fn.add(positives);
            fnVariance.add(variance);
        }
        pairs.add(negatives * above);
        pairs.add((positives * negatives - variance) / 2); // pairs within the tie, none of an event with itself
    }

    /** Adds another part's sums; {@code above} is the expected positives above every score of that part. */
    void add(EstimateSums part, double above) {
        double negativesOfPart = part.events - part.positives();
        events += part.events;
        predicted += part.predicted;
        tp.add(part.tp);
        fn.add(part.fn);
        tpVariance.add(part.tpVariance);
        fnVariance.add(part.fnVariance);
        pairs.add(part.pairs);
        pairs.add(negativesOfPart * above);
    }

    double positives() {
        return tp.value() + fn.value();
    }

    /** One metric's estimate and its band (NaN where undefined). */
    public record Estimate(String metric, double estimate, double lower, double upper) {}

    /**
     * Accuracy, precision, recall and F1 at the decision, and ROC AUC. The bands are the estimate plus or minus
     * 1.96 standard deviations of the realized metric, clipped to [0, 1]: for the first four the standard deviation of
     * the realized value given the scores (the delta method for the ratios recall and F1); for AUC Hanley and
     * McNeil's (1982) standard error at the expected class sizes, which also counts the spread of the scores
     * and so errs wide.
     */
    public List<Estimate> metrics() {
        double n = events;
        double m = predicted;
        double a = tp.value();
        double b = fn.value();
        double va = tpVariance.value();
        double vb = fnVariance.value();
        double positives = a + b;
        double negatives = n - positives;
        List<Estimate> out = new ArrayList<>();
        double trueNegatives = (n - m) - b;
        out.add(band("accuracy", n > 0 ? (a + trueNegatives) / n : Double.NaN, Math.sqrt(va + vb) / n));
        out.add(band("precision", m > 0 ? a / m : Double.NaN, Math.sqrt(va) / m));
        out.add(band("recall", positives > 0 ? a / positives : Double.NaN,
                Math.sqrt(b * b * va + a * a * vb) / (positives * positives)));
        double f1Denominator = m + positives;
        out.add(band("f1", f1Denominator > 0 ? 2 * a / f1Denominator : Double.NaN,
                2 * Math.sqrt((m + b) * (m + b) * va + a * a * vb) / (f1Denominator * f1Denominator)));
        double pairsExpected = positives * negatives - (va + vb); // E[P N] for Bernoulli outcomes
        double auc = pairsExpected > 0 ? pairs.value() / pairsExpected : Double.NaN;
        double q1 = auc / (2 - auc);
        double q2 = 2 * auc * auc / (1 + auc);
        double aucVariance = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc))
                / (positives * negatives);
        out.add(band("auc_roc", auc, positives >= 1 && negatives >= 1 ? Math.sqrt(Math.max(0, aucVariance)) : Double.NaN));
        return out;
    }

    private static Estimate band(String metric, double estimate, double sd) {
        if (Double.isNaN(estimate) || Double.isNaN(sd) || Double.isInfinite(sd)) {
            return new Estimate(metric, estimate, Double.NaN, Double.NaN);
        }
        return new Estimate(metric, estimate, Math.max(0, estimate - Z95 * sd), Math.min(1, estimate + Z95 * sd));
    }

    /** The sums of scores held in memory (the arithmetic the distributed estimate does, in one place). */
    public static EstimateSums of(double[] scores, Decision decision) {
        double[] sorted = scores.clone();
        Arrays.sort(sorted);
        EstimateSums sums = new EstimateSums();
        double above = 0;
        int i = sorted.length - 1;
        while (i >= 0) {
            double p = sorted[i];
            int j = i;
            while (j >= 0 && sorted[j] == p) {
                j--;
            }
            long count = i - j;
            sums.add(p, count, decision, above);
            above += count * p;
            i = j;
        }
        return sums;
    }
}
