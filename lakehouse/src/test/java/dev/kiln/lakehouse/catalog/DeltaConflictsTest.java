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
}
