package dev.kiln.features.definition;

import dev.kiln.lakehouse.config.ConfigException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A length of time written like {@code 7d} or {@code 24h}: feature windows and TTLs. */
public record Span(int hours, String text) {
    private static final Pattern FORMAT = Pattern.compile("([1-9][0-9]{0,4})([hd])");

    public static Span parse(String text, String path) {
        Matcher m = FORMAT.matcher(text == null ? "" : text.trim());
        if (!m.matches()) {
            throw new ConfigException(path, "expected a length like 1d, 7d, 28d or 6h, got '" + text + "'");
        }
        int n = Integer.parseInt(m.group(1));
        return new Span(m.group(2).equals("d") ? n * 24 : n, text.trim());
    }

    /** How many periods of the grain this span covers; refuses spans shorter than, or not a multiple of, the grain. */
    public int periods(Grain grain, String path) {
        if (hours < grain.hours() || hours % grain.hours() != 0) {
            throw new ConfigException(path, "window " + text + " is not a whole number of " + grain.name().toLowerCase(java.util.Locale.ROOT)
                    + " periods (the feature set's grain)");
        }
        return hours / grain.hours();
    }

    @Override
    public String toString() {
        return text;
    }
}
