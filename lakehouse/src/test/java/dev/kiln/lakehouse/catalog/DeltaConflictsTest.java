package dev.kiln.lakehouse.catalog;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** One classifier of Delta's commit conflicts, however Spark or Delta wrapped them. */
class DeltaConflictsTest {
    @Test
    void conflictsAreRecognizedThroughWrappersAndNothingElseIs() {
        RuntimeException wrapped = new RuntimeException("job aborted",
                new IllegalStateException("merge failed", new io.delta.exceptions.ConcurrentAppendException("files were added")));
        assertTrue(DeltaConflicts.isConflict(wrapped));
        assertTrue(DeltaConflicts.isConflict(new io.delta.exceptions.MetadataChangedException("metadata changed")));
        assertFalse(DeltaConflicts.isConflict(new RuntimeException("ConcurrentAppendException in the message only")));
        assertFalse(DeltaConflicts.isConflict(new IllegalStateException("Concurrent-looking", new java.io.IOException("disk"))));
    }

    @Test
    void aTableCreatedByAnotherProcessIsRecognizedAsSuchAndNothingElseIs() {
        // As Spark's Hive client passes on the metastore's refusal (SharedCatalogIT, two ingests at once).
        Exception fromMetastore = new RuntimeException("create failed", new org.apache.hadoop.hive.ql.metadata.HiveException(
                new org.apache.hadoop.hive.metastore.api.AlreadyExistsException("Table job_runs already exists")));
        assertTrue(DeltaConflicts.isCreatedElsewhere(fromMetastore));
        assertFalse(DeltaConflicts.isConflict(fromMetastore));
        assertFalse(DeltaConflicts.isCreatedElsewhere(new RuntimeException("Table job_runs already exists")));
        assertFalse(DeltaConflicts.isCreatedElsewhere(new io.delta.exceptions.ConcurrentAppendException("files were added")));
    }
}
