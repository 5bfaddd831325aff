package dev.kiln.lakehouse.ingest;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.catalog.TableName;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A dataset as declared under {@code datasets.<name>}: where its files are, the schema contract they
 * must meet, and how accepted rows are written to {@code raw.<table>}.
 *
 * @param statsColumns columns Delta keeps min/max statistics for (data skipping); empty for none
 */
public record DatasetSpec(
        String name,
        String table,
        String description,
        String format,
        String path,
        Map<String, String> options,
        List<ColumnContract> columns,
        List<DerivedColumn> derived,
        String eventTime,
        List<String> partitionBy,
        List<Expectation> expectations,
        List<String> keys,
        WriteMode writeMode,
        boolean allowNewColumns,
        List<String> statsColumns) {

    public enum WriteMode { APPEND, MERGE }

    public static final String RAW_SCHEMA = "raw";

    public DatasetSpec {
        requireNonNull(name, "name is null");
        requireNonNull(table, "table is null");
        requireNonNull(format, "format is null");
        requireNonNull(path, "path is null");
        requireNonNull(eventTime, "eventTime is null");
        requireNonNull(writeMode, "writeMode is null");
        options = Map.copyOf(options);
        columns = List.copyOf(columns);
        derived = List.copyOf(derived);
        partitionBy = List.copyOf(partitionBy);
        expectations = List.copyOf(expectations);
        keys = List.copyOf(keys);
        statsColumns = List.copyOf(statsColumns);
    }

    public TableName tableName() {
        return TableName.of(RAW_SCHEMA, table);
    }

    public TableName quarantineTableName() {
        return TableName.of(RAW_SCHEMA, table + "_quarantine");
    }

    public Optional<ColumnContract> column(String columnName) {
        return columns.stream().filter(c -> c.name().equals(columnName)).findFirst();
    }

    /** The same spec reading another source path (e.g. one day's landing folder). */
    public DatasetSpec withPath(String newPath) {
        return new DatasetSpec(name, table, description, format, newPath, options, columns, derived, eventTime,
                partitionBy, expectations, keys, writeMode, allowNewColumns, statsColumns);
    }

    /** The same spec writing another table of the raw schema. */
    public DatasetSpec withTable(String newName, String newTable) {
        return new DatasetSpec(newName, newTable, description, format, path, options, columns, derived, eventTime,
                partitionBy, expectations, keys, writeMode, allowNewColumns, statsColumns);
    }

    public DatasetSpec withAllowNewColumns(boolean allow) {
        return new DatasetSpec(name, table, description, format, path, options, columns, derived, eventTime,
                partitionBy, expectations, keys, writeMode, allow, statsColumns);
    }
}
