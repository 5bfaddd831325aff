package dev.kiln.lakehouse.quality;

import static java.util.Objects.requireNonNull;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * A batch split by its checks. Both plans read the same source; every source row is in exactly one.
 *
 * @param accepted    typed contract columns, derived columns and audit columns
 * @param quarantined raw values as strings, {@code _reason}, {@code _raw_record} and audit columns
 */
public record ValidatedBatch(Dataset<Row> accepted, Dataset<Row> quarantined) {
    public ValidatedBatch {
        requireNonNull(accepted, "accepted is null");
        requireNonNull(quarantined, "quarantined is null");
    }
}
