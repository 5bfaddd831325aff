package dev.kiln.features.materialize;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.catalog.TableName;
import java.time.LocalDateTime;
import java.util.Optional;

/**
 * What one materialization run did to a feature set version.
 *
 * @param fromPeriod    start of the first period written (empty when nothing was new)
 * @param toPeriod      start of the last period written
 * @param sourceVersion Delta version of the source table that was read (empty for a source query)
 */
public record MaterializedVersion(
        String featureSet,
        int version,
        TableName table,
        String definitionHash,
        Optional<LocalDateTime> fromPeriod,
        Optional<LocalDateTime> toPeriod,
        long rowsWritten,
        Optional<Long> sourceVersion) {

    public MaterializedVersion {
        requireNonNull(featureSet, "featureSet is null");
        requireNonNull(table, "table is null");
        requireNonNull(definitionHash, "definitionHash is null");
        requireNonNull(fromPeriod, "fromPeriod is null");
        requireNonNull(toPeriod, "toPeriod is null");
        requireNonNull(sourceVersion, "sourceVersion is null");
    }

    public boolean wroteNothing() {
        return fromPeriod.isEmpty();
    }

    public String summary() {
        if (wroteNothing()) {
            return String.format("%s v%d: nothing new to materialize (%s is up to date with its source)", featureSet,
                    version, table);
        }
        return String.format("%s v%d: %,d rows for periods %s .. %s written to %s", featureSet, version, rowsWritten,
                fromPeriod.get(), toPeriod.get(), table);
    }
}
