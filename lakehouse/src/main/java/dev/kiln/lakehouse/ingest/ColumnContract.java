package dev.kiln.lakehouse.ingest;

import static java.util.Objects.requireNonNull;

import org.apache.spark.sql.types.DataType;

/** One column of a dataset's schema contract. */
public record ColumnContract(String name, DataType type, boolean nullable) {
    public ColumnContract {
        requireNonNull(name, "name is null");
        requireNonNull(type, "type is null");
    }
}
