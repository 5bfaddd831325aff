package dev.kiln.lakehouse.catalog;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.KilnException;

/**
 * A validated, normalized {@code schema.table} name. Built once from config or CLI input; SQL only
 * ever sees {@link #quoted()}.
 */
public final class TableName {
    private final String schema;
    private final String table;

    private TableName(String schema, String table) {
        this.schema = schema;
        this.table = table;
    }

    public static TableName of(String schema, String table) {
        requireNonNull(schema, "schema is null");
        requireNonNull(table, "table is null");
        try {
            return new TableName(Identifiers.require(schema, "schema"), Identifiers.require(table, "table name"));
        } catch (IllegalArgumentException e) {
            throw new KilnException(e.getMessage());
        }
    }

    /** Parses {@code schema.table}; a bare name is refused because every Kiln table lives in a schema. */
    public static TableName parse(String qualified) {
        requireNonNull(qualified, "qualified is null");
        String[] parts = qualified.trim().split("\\.", -1);
        if (parts.length != 2) {
            throw new KilnException("table name '" + qualified + "' must be schema.table (for example raw.flights)");
        }
        return of(parts[0], parts[1]);
    }

    public String schema() {
        return schema;
    }

    public String table() {
        return table;
    }

    /** {@code `schema`.`table`}, safe to put into SQL. */
    public String quoted() {
        return "`" + schema + "`.`" + table + "`";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TableName other && schema.equals(other.schema) && table.equals(other.table);
    }

    @Override
    public int hashCode() {
        return 31 * schema.hashCode() + table.hashCode();
    }

    @Override
    public String toString() {
        return schema + "." + table;
    }
}
