package dev.kiln.lakehouse.fault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.lakehouse.KilnException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CrashPointTest {
    @Test
    void anUnarmedOrOtherPointPassesThrough(@TempDir Path dir) {
        Path marker = dir.resolve("reached");
        CrashPoint.reached(CrashPoint.TRAIN_AFTER_REGISTRY_ROW, Map.of());
        CrashPoint.reached(CrashPoint.TRAIN_AFTER_REGISTRY_ROW, Map.of(CrashPoint.POINT_ENV, CrashPoint.INGEST_AFTER_DATA_COMMIT,
                CrashPoint.MARKER_ENV, marker.toString()));
        assertFalse(Files.exists(marker));
    }

    @Test
    void theArmedPointWritesItsMarkerAndStops(@TempDir Path dir) throws Exception {
        Path marker = dir.resolve("reached");
        Thread stopped = new Thread(() -> CrashPoint.reached(CrashPoint.SCORE_IN_PREDICTIONS_WRITE, Map.of(CrashPoint.POINT_ENV,
                CrashPoint.SCORE_IN_PREDICTIONS_WRITE, CrashPoint.MARKER_ENV, marker.toString())));
        stopped.setDaemon(true);
        stopped.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.exists(marker) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(CrashPoint.SCORE_IN_PREDICTIONS_WRITE + "\n", Files.readString(marker));
        stopped.interrupt(); // an interrupt does not release it: only the kill ends it
        stopped.join(300);
        assertTrue(stopped.isAlive());
    }

    @Test
    void anArmedPointWithoutAMarkerFileIsRefused() {
        KilnException e = assertThrows(KilnException.class, () -> CrashPoint.reached(CrashPoint.DRIFT_AFTER_ALERTS,
                Map.of(CrashPoint.POINT_ENV, CrashPoint.DRIFT_AFTER_ALERTS)));
        assertTrue(e.getMessage().contains(CrashPoint.MARKER_ENV), e.getMessage());
    }
}
