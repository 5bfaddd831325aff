package dev.kiln.lakehouse.ingest;

import static java.util.Objects.requireNonNull;

import java.util.Locale;
import org.apache.spark.sql.types.DataType;

/**
 * One column of a dataset's schema contract.
 *
 * @param name   the column's name in Kiln's tables: a lower-case identifier
 * @param source the column's name in the source files (a CSV header, a JSON key, a Parquet column), matched
 *               ignoring case; any text, e.g. {@code "Dep Delay $"}. The contract name when not mapped.
 */
public record ColumnContract(String name, DataType type, boolean nullable, String source) {
    public ColumnContract {
        requireNonNull(name, "name is null");
        requireNonNull(type, "type is null");
        requireNonNull(source, "source is null");
        if (source.isBlank()) {
            throw new IllegalArgumentException("source of column '" + name + "' is blank");
        }
    }

    /** A column read from the source column of the same name. */
    public ColumnContract(String name, DataType type, boolean nullable) {
        this(name, type, nullable, name);
    }

    /** Whether a source column of this name feeds this contract column (names match ignoring case). */
    public boolean readsFrom(String sourceColumn) {
        return sourceKey(source).equals(sourceKey(sourceColumn));
    }

    /** The form in which source names are compared: Spark resolves column names ignoring case by default. */
    public static String sourceKey(String sourceColumn) {
        return sourceColumn.toLowerCase(Locale.ROOT);
    }
}
