package dev.kiln.training.decision;

import dev.kiln.lakehouse.config.ConfigException;
import dev.kiln.lakehouse.config.ConfigSection;
import java.util.Locale;
import java.util.Set;

/**
 * How a binary model's decision threshold is chosen on its validation window ({@code models.<name>.decision}):
 * the score at or above which an event is predicted positive. Every policy looks at every distinct validation
 * score as a candidate threshold, and a tie goes to the higher threshold, so the choice is exact and the same
 * on every run.
 */
public sealed interface DecisionPolicy extends java.io.Serializable {
    /** The threshold with the highest F1 (the default). */
    record MaxF1() implements DecisionPolicy {
        @Override
        public double objective(double threshold, long tp, long fp, long positives, long negatives) {
            return positives == 0 ? 0 : 2.0 * tp / (tp + fp + positives);
        }

        @Override
        public String text() {
            return "max-f1";
        }
    }

    /**
     * The highest recall whose precision is at least {@code precision}; where no threshold reaches it, the one with
     * the highest precision.
     */
    record PrecisionAtLeast(double precision) implements DecisionPolicy {
        @Override
        public double objective(double threshold, long tp, long fp, long positives, long negatives) {
            double p = tp + fp == 0 ? 0 : (double) tp / (tp + fp);
            return p >= precision ? 1 + (positives == 0 ? 0 : (double) tp / positives) : p;
        }

        @Override
        public String text() {
            return "precision-at-least " + precision;
        }
    }

    /** The highest precision whose recall is at least {@code recall} (the lowest threshold always reaches it). */
    record RecallAtLeast(double recall) implements DecisionPolicy {
        @Override
        public double objective(double threshold, long tp, long fp, long positives, long negatives) {
            double r = positives == 0 ? 0 : (double) tp / positives;
            return r >= recall ? 1 + (tp + fp == 0 ? 0 : (double) tp / (tp + fp)) : r;
        }

        @Override
        public String text() {
            return "recall-at-least " + recall;
        }
    }

    /** The lowest total cost of the errors: {@code falsePositive} per false alarm, {@code falseNegative} per miss. */
    record Cost(double falsePositive, double falseNegative) implements DecisionPolicy {
        @Override
        public double objective(double threshold, long tp, long fp, long positives, long negatives) {
            return -(falsePositive * fp + falseNegative * (positives - tp));
        }

        @Override
        public String text() {
            return "cost false-positive=" + falsePositive + " false-negative=" + falseNegative;
        }
    }

    /** A threshold given by the declaration; validation only measures it. */
    record Fixed(double threshold) implements DecisionPolicy {
        @Override
        public double objective(double threshold, long tp, long fp, long positives, long negatives) {
            return threshold >= this.threshold ? tp + fp : Double.NEGATIVE_INFINITY; // the lowest candidate at or above it
        }

        @Override
        public String text() {
            return "fixed " + threshold;
        }
    }

    DecisionPolicy DEFAULT = new MaxF1();

    /**
     * What a candidate threshold is worth, from the confusion counts of predicting positive at and above it: the
     * highest wins. The empty prediction (nothing positive, {@code tp = fp = 0}, threshold +infinity) is a candidate too.
     */
    double objective(double threshold, long tp, long fp, long positives, long negatives);

    /** The threshold stored for the winning candidate {@code chosen}: the candidate itself, or the declared one. */
    default double stored(double chosen) {
        return this instanceof Fixed f ? f.threshold() : chosen;
    }

    /** As stored in {@code ml.models.decision.policy}, e.g. {@code precision-at-least 0.5}. */
    String text();

    /**
     * The policy declared under {@code decision} of a model section: {@code policy = max-f1} (the default), or one of
     * {@code precision-at-least = 0.5}, {@code recall-at-least = 0.3},
     * {@code cost { false-positive = 1, false-negative = 5 }}, {@code fixed = 0.5}.
     */
    static DecisionPolicy parse(ConfigSection model) {
        if (!model.has("decision")) {
            return DEFAULT;
        }
        ConfigSection d = model.section("decision");
        Set<String> keys = d.keys();
        Set<String> known = Set.of("policy", "precision-at-least", "recall-at-least", "cost", "fixed");
        for (String k : keys) {
            if (!known.contains(k)) {
                throw new ConfigException(d.at(k), "unknown decision setting '" + k + "' (known: policy = max-f1,"
                        + " precision-at-least, recall-at-least, cost { false-positive, false-negative }, fixed)");
            }
        }
        if (keys.size() != 1) {
            throw new ConfigException(d.path(), "give one decision policy: policy = max-f1, precision-at-least = 0.5,"
                    + " recall-at-least = 0.3, cost { false-positive = 1, false-negative = 5 } or fixed = 0.5 (got "
                    + String.join(", ", new java.util.TreeSet<>(keys)) + ")");
        }
        String key = keys.iterator().next();
        return switch (key) {
            case "policy" -> {
                String p = d.string("policy").toLowerCase(Locale.ROOT);
                if (!p.equals("max-f1")) {
                    throw new ConfigException(d.at("policy"), "unknown policy '" + p + "' (policy = max-f1; the others"
                            + " are keys: precision-at-least, recall-at-least, cost, fixed)");
                }
                yield DEFAULT;
            }
            case "precision-at-least" -> new PrecisionAtLeast(share(d, key));
            case "recall-at-least" -> new RecallAtLeast(share(d, key));
            case "fixed" -> new Fixed(share(d, key));
            default -> {
                ConfigSection c = d.section("cost");
                double fp = c.number("false-positive");
                double fn = c.number("false-negative");
                if (!(fp >= 0 && fn >= 0 && fp + fn > 0)) {
                    throw new ConfigException(c.path(), "costs must be 0 or more, and not both 0 (got false-positive = "
                            + fp + ", false-negative = " + fn + ")");
                }
                yield new Cost(fp, fn);
            }
        };
    }

    /** The policy of a stored {@link #text()}. */
    static DecisionPolicy ofText(String text) {
        String[] w = text.split(" ");
        return switch (w[0]) {
            case "max-f1" -> DEFAULT;
            case "precision-at-least" -> new PrecisionAtLeast(Double.parseDouble(w[1]));
            case "recall-at-least" -> new RecallAtLeast(Double.parseDouble(w[1]));
            case "fixed" -> new Fixed(Double.parseDouble(w[1]));
            case "cost" -> new Cost(Double.parseDouble(w[1].substring(w[1].indexOf('=') + 1)),
                    Double.parseDouble(w[2].substring(w[2].indexOf('=') + 1)));
            default -> throw new IllegalArgumentException("unknown decision policy '" + text + "'");
        };
    }

    private static double share(ConfigSection d, String key) {
        double v = d.number(key);
        if (!(v >= 0 && v <= 1)) {
            throw new ConfigException(d.at(key), "must be between 0 and 1, got " + v);
        }
        return v;
    }
}
