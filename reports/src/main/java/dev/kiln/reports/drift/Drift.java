package dev.kiln.reports.drift;

/** One drift metric of one model input (or the score) with its threshold and status. */
public record Drift(String feature, String kind, String metric, Double value, Double threshold, DriftStatus status) {
    public boolean breached() {
        return status == DriftStatus.BREACH;
    }

    public String describe() {
        return String.format("%s of %s = %.4f > %s", metric, feature, value, threshold);
    }
}
