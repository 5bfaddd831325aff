package dev.kiln.features.definition;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.config.ConfigException;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;

/**
 * What a feature aggregates over its window: {@code count}, {@code sum(x)}, {@code avg(x)}, {@code min(x)},
 * {@code max(x)}, {@code stddev(x)}, {@code rate(condition)} (share of rows where it holds) or
 * {@code approx_distinct(x)}. The argument is a SQL expression over the source's columns.
 *
 * <p>An aggregation is one {@link Kind} constant: what it takes, its default type and default value here, and
 * how it is computed in the materializer's exhaustive switches (the compiler names every place a new one needs).
 */
public record Aggregation(Kind kind, Optional<String> argument) {
    public enum Kind {
        /** Rows in the window; an empty window counts 0. */
        COUNT(false, DataTypes.LongType, Optional.of(0)),
        SUM(true, DataTypes.DoubleType, Optional.empty()),
        AVG(true, DataTypes.DoubleType, Optional.empty()),
        MIN(true, DataTypes.DoubleType, Optional.empty()),
        MAX(true, DataTypes.DoubleType, Optional.empty()),
        /** The sample standard deviation (n - 1), null below two values. */
        STDDEV(true, DataTypes.DoubleType, Optional.empty()),
        /** The share of rows where a condition holds, of those where it is not null. */
        RATE(true, DataTypes.DoubleType, Optional.empty()),
        /** The distinct values in the window (exact, despite the name kept for existing configs). */
        APPROX_DISTINCT(true, DataTypes.LongType, Optional.empty());

        private final boolean takesArgument;
        private final DataType defaultType;
        private final Optional<Object> defaultValue;

        Kind(boolean takesArgument, DataType defaultType, Optional<Object> defaultValue) {
            this.takesArgument = takesArgument;
            this.defaultType = defaultType;
            this.defaultValue = defaultValue;
        }

        /** The name written in configs. */
        public String text() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The feature's type when its config names none. */
        public DataType defaultType() {
            return defaultType;
        }

        /** The value of an empty window when the config names no {@code default}. */
        public Optional<Object> defaultValue() {
            return defaultValue;
        }

        String usage() {
            return takesArgument ? text() + "(x)" : text();
        }
    }

    private static final Pattern CALL = Pattern.compile("(?s)\\s*([a-z_]+)\\s*(?:\\((.*)\\))?\\s*");

    public Aggregation {
        requireNonNull(kind, "kind is null");
        requireNonNull(argument, "argument is null");
    }

    public static Aggregation parse(String text, String path) {
        Matcher m = CALL.matcher(text == null ? "" : text);
        if (!m.matches()) {
            throw new ConfigException(path, "expected " + list(Kind::usage) + ", got '" + text + "'");
        }
        Kind kind;
        try {
            kind = Kind.valueOf(m.group(1).toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(path, "unknown aggregation '" + m.group(1) + "' (known: " + list(Kind::text) + ")");
        }
        String arg = m.group(2) == null ? null : m.group(2).trim();
        if (!kind.takesArgument) {
            if (arg != null && !arg.isEmpty() && !arg.equals("*")) {
                throw new ConfigException(path, kind.text() + " takes no argument (it counts rows); use rate(...) or sum(...)");
            }
            return new Aggregation(kind, Optional.empty());
        }
        if (arg == null || arg.isEmpty()) {
            throw new ConfigException(path, m.group(1) + " needs an argument, e.g. " + m.group(1) + "(delay)");
        }
        return new Aggregation(kind, Optional.of(arg));
    }

    private static String list(java.util.function.Function<Kind, String> show) {
        return Arrays.stream(Kind.values()).map(show).collect(Collectors.joining(", "));
    }

    @Override
    public String toString() {
        return kind.text() + argument.map(a -> "(" + a + ")").orElse("");
    }
}
