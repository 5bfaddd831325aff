package dev.kiln.lakehouse.runlog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RunLivenessTest {
    private static final Instant NOW = Instant.parse("2024-05-01T12:00:00Z");
    private final RunLiveness liveness = new RunLiveness("this-host", NOW, Duration.ofMinutes(15));

    private static JobRun running(String host, long pid, Instant started, Instant heartbeat) {
        JobRun run = JobRun.started("r", "ingest demo", "ingest demo", "h", started,
                new JobRun.Origin("local-1", "local[2]", "v", null, host, pid));
        return new JobRun(run.runId(), run.job(), run.arguments(), run.configHash(), run.startedAt(), null,
                JobRun.Status.RUNNING, null, null, null, Optional.empty(), run.origin(), heartbeat);
    }

    @Test
    void aRunOnThisHostIsGoneWhenItsProcessIs() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        JobRun dead = running("this-host", p.pid(), Instant.now().minusSeconds(60), null);
        assertTrue(liveness.whyGone(dead).orElseThrow().contains("process " + p.pid() + " on this-host is gone"));
        assertEquals("not finished", liveness.state(dead));

        JobRun alive = running("this-host", ProcessHandle.current().pid(), Instant.now(), null);
        assertEquals(Optional.empty(), liveness.whyGone(alive));
        assertEquals("running", liveness.state(alive));

        // the pid now belongs to a process that started after the run: not the run's process
        JobRun reused = running("this-host", ProcessHandle.current().pid(), Instant.parse("2000-01-01T00:00:00Z"), null);
        assertTrue(liveness.whyGone(reused).orElseThrow().contains("the pid is reused"));
    }

    @Test
    void aRunOnAnotherHostIsGoneWhenItsHeartbeatIsStale() {
        JobRun beating = running("other-host", 1, NOW.minus(Duration.ofHours(2)), NOW.minus(Duration.ofMinutes(5)));
        assertEquals(Optional.empty(), liveness.whyGone(beating));
        JobRun silent = running("other-host", 1, NOW.minus(Duration.ofHours(2)), NOW.minus(Duration.ofMinutes(20)));
        assertTrue(liveness.whyGone(silent).orElseThrow().startsWith("no heartbeat since 2024-05-01T11:40:00Z"));
        JobRun neverBeat = running("other-host", 1, NOW.minus(Duration.ofMinutes(16)), null);
        assertTrue(liveness.whyGone(neverBeat).isPresent());
    }

    @Test
    void finishedRunsAreNeverGone() {
        JobRun done = running("this-host", 999_999_999L, NOW.minusSeconds(10), null)
                .ended(NOW, JobRun.Status.FAILED, null, null, null, Optional.of("boom"));
        assertEquals(Optional.empty(), liveness.whyGone(done));
        assertEquals("failed", liveness.state(done));
    }
}
