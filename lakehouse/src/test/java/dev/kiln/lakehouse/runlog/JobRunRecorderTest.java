package dev.kiln.lakehouse.runlog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.lakehouse.TestLakehouse;
import dev.kiln.lakehouse.catalog.Lakehouse;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class JobRunRecorderTest {
    private final Lakehouse lakehouse = TestLakehouse.get();

    @Test
    void writesARunningRowWhereItRunsThenItsEnd() {
        JobRunLog log = new JobRunLog(lakehouse);
        JobRunRecorder.StartedRun run = new JobRunRecorder(lakehouse).start("ingest recorder", "ingest recorder --x", "h1");

        JobRun started = log.find(run.runId()).orElseThrow();
        assertEquals(JobRun.Status.RUNNING, started.status());
        assertEquals(null, started.endedAt());
        assertEquals("ingest recorder --x", started.arguments());
        assertEquals(lakehouse.spark().sparkContext().applicationId(), started.origin().sparkAppId());
        assertEquals("local[2]", started.origin().sparkMaster());
        assertEquals(ProcessHandle.current().pid(), started.origin().pid());
        assertFalse(started.origin().kilnVersion().isBlank());
        assertEquals(Optional.empty(), RunLiveness.here().whyGone(started)); // this very process

        run.succeeded(3L, 2L, 1L);
        JobRun ended = log.find(run.runId()).orElseThrow();
        assertEquals(JobRun.Status.SUCCEEDED, ended.status());
        assertEquals(2L, ended.rowsOut());
        assertTrue(ended.endedAt() != null && !ended.endedAt().isBefore(ended.startedAt()));
        assertEquals(started.origin(), ended.origin());
        assertEquals(1L, lakehouse.read(JobRunLog.TABLE).where("run_id = '" + run.runId() + "'").count());
    }

    @Test
    void beatsAHeartbeatUntilTheRunEnds() throws Exception {
        JobRunLog log = new JobRunLog(lakehouse);
        JobRunRecorder.StartedRun run = new JobRunRecorder(lakehouse, Duration.ofMillis(200))
                .start("ingest heartbeat", "ingest heartbeat", "h2");
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (log.find(run.runId()).orElseThrow().heartbeatAt() == null && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertTrue(log.find(run.runId()).orElseThrow().heartbeatAt() != null, "no heartbeat written");
        run.failed("source missing");
        JobRun ended = log.find(run.runId()).orElseThrow();
        assertEquals(JobRun.Status.FAILED, ended.status());
        assertEquals(Optional.of("source missing"), ended.error());
    }
}
