package dev.kiln.lakehouse.catalog;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.config.ConfigException;
import java.util.Optional;

/**
 * Where a declaration reads its rows: one catalog table, or a SQL query over catalog tables. Feature sets
 * ({@code source} / {@code source-query}) and training sets ({@code events} / {@code events-query}) both
 * declare their input this way, and parse it here.
 */
public final class TableOrQuery {
    private final Optional<TableName> table;
    private final Optional<String> query;

    private TableOrQuery(Optional<TableName> table, Optional<String> query) {
        this.table = requireNonNull(table, "table is null");
        this.query = requireNonNull(query, "query is null");
        if (table.isPresent() == query.isPresent()) {
            throw new IllegalArgumentException("exactly one of table and query");
        }
    }

    public static TableOrQuery table(TableName table) {
        return new TableOrQuery(Optional.of(table), Optional.empty());
    }

    public static TableOrQuery query(String sql) {
        return new TableOrQuery(Optional.empty(), Optional.of(sql));
    }

    /**
     * Reads {@code <tableKey>} (a table name) or {@code <queryKey>} (SQL) of a declaration, refusing both or neither
     * with the config path.
     */
    public static TableOrQuery parse(dev.kiln.lakehouse.config.ConfigSection declaration, String tableKey, String queryKey) {
        boolean hasTable = declaration.has(tableKey);
        boolean hasQuery = declaration.has(queryKey);
        if (hasTable && hasQuery) {
            throw new ConfigException(declaration.path(), "give either " + tableKey + " (a table) or " + queryKey + ", not both");
        }
        if (hasTable) {
            try {
                return table(TableName.parse(declaration.string(tableKey)));
            } catch (KilnException e) {
                throw new ConfigException(declaration.at(tableKey), e.getMessage());
            }
        }
        if (hasQuery) {
            return query(declaration.string(queryKey));
        }
        throw new ConfigException(declaration.at(tableKey), "missing (a table like raw.flights, or " + queryKey + ")");
    }

    public Optional<TableName> tableName() {
        return table;
    }

    public Optional<String> sql() {
        return query;
    }

    /** The rows as SQL: the query, or every column of the table. */
    public String asSql() {
        return query.orElseGet(() -> "SELECT * FROM " + table.orElseThrow());
    }

    /** {@code raw.flights} or {@code query: <sql>}; part of feature sets' definition hashes, so it never changes. */
    public String describe() {
        return table.map(TableName::toString).orElseGet(() -> "query: " + query.orElseThrow());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TableOrQuery other && table.equals(other.table) && query.equals(other.query);
    }

    @Override
    public int hashCode() {
        return table.hashCode() * 31 + query.hashCode();
    }

    @Override
    public String toString() {
        return describe();
    }
}
