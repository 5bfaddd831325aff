package dev.kiln.features.definition;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.config.ConfigException;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a feature aggregates over its window: {@code count}, {@code sum(x)}, {@code avg(x)}, {@code min(x)},
 * {@code max(x)}, {@code stddev(x)}, {@code rate(condition)} (share of rows where it holds) or
 * {@code approx_distinct(x)}. The argument is a SQL expression over the source's columns.
 */
public record Aggregation(Kind kind, Optional<String> argument) {
    public enum Kind { COUNT, SUM, AVG, MIN, MAX, STDDEV, RATE, APPROX_DISTINCT }

    private static final Pattern CALL = Pattern.compile("(?s)\\s*([a-z_]+)\\s*(?:\\((.*)\\))?\\s*");

    public Aggregation {
        requireNonNull(kind, "kind is null");
        requireNonNull(argument, "argument is null");
    }

    public static Aggregation parse(String text, String path) {
        Matcher m = CALL.matcher(text == null ? "" : text);
        if (!m.matches()) {
            throw new ConfigException(path, "expected count, sum(x), avg(x), min(x), max(x), stddev(x), rate(condition)"
                    + " or approx_distinct(x), got '" + text + "'");
        }
        Kind kind;
        try {
            kind = Kind.valueOf(m.group(1).toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(path, "unknown aggregation '" + m.group(1) + "' (known: count, sum, avg, min, max,"
                    + " stddev, rate, approx_distinct)");
        }
        String arg = m.group(2) == null ? null : m.group(2).trim();
        if (kind == Kind.COUNT) {
            if (arg != null && !arg.isEmpty() && !arg.equals("*")) {
                throw new ConfigException(path, "count takes no argument (it counts rows); use rate(...) or sum(...)");
            }
            return new Aggregation(kind, Optional.empty());
        }
        if (arg == null || arg.isEmpty()) {
            throw new ConfigException(path, m.group(1) + " needs an argument, e.g. " + m.group(1) + "(delay)");
        }
        return new Aggregation(kind, Optional.of(arg));
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase(Locale.ROOT) + argument.map(a -> "(" + a + ")").orElse("");
    }
}
