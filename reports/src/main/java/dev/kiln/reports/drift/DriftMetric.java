package dev.kiln.reports.drift;

import java.util.Arrays;
import java.util.List;

/**
 * Every drift metric Kiln computes, in one list: the statistics name their values with it, thresholds
 * ({@code kiln.drift.thresholds.<metric>}) accept exactly these, and {@code kiln drift} prints the ones marked for
 * its summary. {@link #text()} is the name in {@code reports.drift.metric}.
 */
public enum DriftMetric {
    /** Population stability index over the reference window's deciles (numeric). */
    PSI("psi", true),
    /** Kolmogorov-Smirnov distance (numeric). */
    KS("ks", true),
    /** Change of the mean in reference standard deviations (numeric). */
    MEAN_SHIFT("mean_shift", true),
    /** Change of the standard deviation, relative (numeric). */
    STD_SHIFT("std_shift", false),
    /** Current null rate less the reference's (both kinds). */
    NULL_RATE_CHANGE("null_rate_change", true),
    /** Jensen-Shannon distance (base 2) of category shares (categorical). */
    JS_DISTANCE("js_distance", true),
    /** Chi-square statistic of the current counts against the reference shares (categorical). */
    CHI_SQUARE("chi_square", false),
    /** Share of current values in categories the reference never had (categorical). */
    UNSEEN_SHARE("unseen_share", true);

    private final String text;
    private final boolean inSummary;

    DriftMetric(String text, boolean inSummary) {
        this.text = text;
        this.inSummary = inSummary;
    }

    public String text() {
        return text;
    }

    /** Whether {@code kiln drift} prints this metric per input. */
    public boolean inSummary() {
        return inSummary;
    }

    /** Every metric's name, in this order. */
    public static List<String> names() {
        return Arrays.stream(values()).map(DriftMetric::text).toList();
    }

    /** The names {@code kiln drift} prints. */
    public static List<String> summaryNames() {
        return Arrays.stream(values()).filter(DriftMetric::inSummary).map(DriftMetric::text).toList();
    }
}
