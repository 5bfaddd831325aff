package dev.kiln.lakehouse.ingest;

import static java.util.Objects.requireNonNull;

/** A column computed from the contract columns with a SQL expression, e.g. {@code flight_date = to_date(date)}. */
public record DerivedColumn(String name, String expr) {
    public DerivedColumn {
        requireNonNull(name, "name is null");
        requireNonNull(expr, "expr is null");
    }
}
