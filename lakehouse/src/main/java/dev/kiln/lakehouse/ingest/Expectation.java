package dev.kiln.lakehouse.ingest;

import static java.util.Objects.requireNonNull;

/**
 * A SQL boolean expression every row must meet. As with a SQL CHECK constraint, a row fails only when
 * the expression is false; a null result passes (use {@code x IS NOT NULL AND ...} to refuse nulls).
 */
public record Expectation(String name, String expr) {
    public Expectation {
        requireNonNull(name, "name is null");
        requireNonNull(expr, "expr is null");
    }
}
