package dev.kiln.lakehouse.commit;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.catalog.Identifiers;
import java.time.LocalDate;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.functions;

/**
 * Which rows a {@link TableCommits#replace replace} takes out, built from column names and typed values, never from
 * spliced text: names must be plain identifiers and values are rendered as SQL literals (strings escaped, dates as
 * {@code DATE'yyyy-mm-dd'}). Immutable; {@link #toString()} is the SQL Delta receives as {@code replaceWhere}.
 */
public final class Predicate {
    private final String sql;

    private Predicate(String sql) {
        this.sql = sql;
    }

    /** {@code column = value}. */
    public static Predicate eq(String column, Object value) {
        return new Predicate(Identifiers.quote(column) + " = " + literal(value));
    }

    /** {@code column >= from AND column <= to} (both ends included). */
    public static Predicate between(String column, Object from, Object to) {
        String c = Identifiers.quote(column);
        return new Predicate(c + " >= " + literal(from) + " AND " + c + " <= " + literal(to));
    }

    /** Every one of {@code parts} (at least one). */
    public static Predicate all(List<Predicate> parts) {
        return join(parts, " AND ");
    }

    /** Any one of {@code parts} (at least one). */
    public static Predicate any(List<Predicate> parts) {
        return join(parts, " OR ");
    }

    public Predicate and(Predicate other) {
        return all(List.of(this, other));
    }

    public Predicate or(Predicate other) {
        return any(List.of(this, other));
    }

    /** The same condition as a Column, for filters and merge conditions. */
    public Column column() {
        return functions.expr(sql);
    }

    private static Predicate join(List<Predicate> parts, String op) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("a predicate needs at least one part");
        }
        if (parts.size() == 1) {
            return parts.get(0);
        }
        StringBuilder out = new StringBuilder();
        for (Predicate p : parts) {
            out.append(out.length() == 0 ? "" : op).append('(').append(requireNonNull(p, "part is null").sql).append(')');
        }
        return new Predicate(out.toString());
    }

    static String literal(Object value) {
        requireNonNull(value, "a predicate value is null (compare with IS NULL instead)");
        if (value instanceof String s) {
            return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
        }
        if (value instanceof LocalDate d) {
            return "DATE'" + d + "'";
        }
        if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Boolean) {
            return value.toString();
        }
        throw new IllegalArgumentException("no SQL literal for a " + value.getClass().getSimpleName() + " in a predicate");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Predicate p && p.sql.equals(sql);
    }

    @Override
    public int hashCode() {
        return sql.hashCode();
    }

    @Override
    public String toString() {
        return sql;
    }
}
