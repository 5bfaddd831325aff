package dev.kiln.training.retention;

import java.util.List;

/**
 * What a vacuum kept and why: the retention asked for, the retention used (longer where registered training sets
 * or model versions pin older versions) and the pins that made the difference.
 */
public record Vacuumed(String table, double requestedHours, double retainedHours, List<String> pins, boolean forced) {
    public Vacuumed {
        pins = List.copyOf(pins);
    }

    public String summary() {
        if (pins.isEmpty() || retainedHours == requestedHours && !forced) {
            return String.format("vacuumed %s, keeping %.2f h of history%s", table, retainedHours,
                    pins.isEmpty() ? "" : " (pinned versions: " + String.join("; ", pins) + ")");
        }
        return forced
                ? String.format("vacuumed %s with --force, keeping %.2f h: files of these pinned versions may be gone: %s",
                        table, retainedHours, String.join("; ", pins))
                : String.format("vacuumed %s, keeping %.2f h of history instead of %.2f h: the registry pins %s", table,
                        retainedHours, requestedHours, String.join("; ", pins));
    }
}
