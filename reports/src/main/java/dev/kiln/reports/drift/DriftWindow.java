package dev.kiln.reports.drift;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.KilnException;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;

/** A window of days, both ends included: {@code 2001-06-01..2001-06-30}, or one day {@code 2001-06-01}. */
public record DriftWindow(LocalDate from, LocalDate to) {
    public DriftWindow {
        requireNonNull(from, "from is null");
        requireNonNull(to, "to is null");
        if (to.isBefore(from)) {
            throw new KilnException("the window " + from + ".." + to + " is empty: it ends before it starts");
        }
    }

    public static DriftWindow parse(String option, String text) {
        int dots = text.indexOf("..");
        try {
            return dots < 0 ? new DriftWindow(LocalDate.parse(text.trim()), LocalDate.parse(text.trim()))
                    : new DriftWindow(LocalDate.parse(text.substring(0, dots).trim()), LocalDate.parse(text.substring(dots + 2).trim()));
        } catch (DateTimeParseException e) {
            throw new KilnException(option + " '" + text + "' is not a window like 2001-06-01..2001-06-30 (or one day, 2001-06-01)");
        }
    }

    /** The first instant of the window (its first day at midnight). */
    public java.time.LocalDateTime start() {
        return from.atStartOfDay();
    }

    /** The first instant after the window (midnight ending its last day). */
    public java.time.LocalDateTime end() {
        return to.plusDays(1).atStartOfDay();
    }

    @Override
    public String toString() {
        return from + ".." + to;
    }
}
