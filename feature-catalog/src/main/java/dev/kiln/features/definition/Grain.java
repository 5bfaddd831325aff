package dev.kiln.features.definition;

/** The period a feature set is computed for: values hold as of the end of each hour or day. */
public enum Grain {
    HOUR(1), DAY(24);

    private final int hours;

    Grain(int hours) {
        this.hours = hours;
    }

    public int hours() {
        return hours;
    }
}
