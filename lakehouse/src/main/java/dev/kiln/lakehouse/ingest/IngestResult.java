package dev.kiln.lakehouse.ingest;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.catalog.TableName;
import java.util.List;

/**
 * What one ingest run did. {@code rowsRead == rowsWritten + rowsQuarantined} always holds for a batch
 * that was written; a batch found already committed reports {@code alreadyCommitted} and zero rows.
 *
 * @param tableVersion      Delta version of the data table after the run
 */
public record IngestResult(
        String dataset,
        String batchId,
        TableName table,
        TableName quarantineTable,
        List<String> sourceFiles,
        long rowsRead,
        long rowsWritten,
        long rowsQuarantined,
        boolean alreadyCommitted,
        long tableVersion) {

    public IngestResult {
        requireNonNull(dataset, "dataset is null");
        requireNonNull(batchId, "batchId is null");
        requireNonNull(table, "table is null");
        requireNonNull(quarantineTable, "quarantineTable is null");
        sourceFiles = List.copyOf(sourceFiles);
    }

    public String summary() {
        if (alreadyCommitted) {
            return String.format("batch %s of %s was already committed to %s: rows read 0, written 0, quarantined 0",
                    batchId, dataset, table);
        }
        return String.format("batch %s of %s: rows read %,d = written %,d (%s) + quarantined %,d (%s)",
                batchId, dataset, rowsRead, rowsWritten, table, rowsQuarantined, quarantineTable);
    }
}
