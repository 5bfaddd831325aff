package dev.kiln.reports.drift;

/** What a drift metric's value means against its threshold; {@link #text()} is what {@code reports.drift.status} holds. */
public enum DriftStatus {
    /** Above its threshold. */
    BREACH("breach"),
    /** Within its threshold. */
    OK("ok"),
    /** No threshold is set for the metric: reported, never alerted on. */
    INFO("info"),
    /** The value is undefined (e.g. no rows in a window). */
    NOT_AVAILABLE("n/a");

    private final String text;

    DriftStatus(String text) {
        this.text = text;
    }

    public String text() {
        return text;
    }
}
