package dev.kiln.jobs.cli;

import dev.kiln.lakehouse.KilnException;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;

/** Parsing of option values that several commands take. */
final class Arguments {
    private Arguments() {}

    /** A yyyy-mm-dd option value, or a clear error naming the option. */
    static LocalDate date(String option, String text) {
        try {
            return LocalDate.parse(text);
        } catch (DateTimeParseException e) {
            throw new KilnException(option + " '" + text + "' is not a date like 2001-06-01");
        }
    }
}
