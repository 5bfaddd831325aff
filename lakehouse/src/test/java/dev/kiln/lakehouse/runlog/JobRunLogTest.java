package dev.kiln.lakehouse.runlog;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kiln.lakehouse.TestLakehouse;
import dev.kiln.lakehouse.catalog.Lakehouse;
import java.time.Instant;
import java.util.Optional;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

class JobRunLogTest {
    private final Lakehouse lakehouse = TestLakehouse.get();

    @Test
    void recordsOneRowPerRunAndIsIdempotentPerRunId() {
        JobRunLog log = new JobRunLog(lakehouse);
        Instant start = Instant.parse("2024-05-01T10:00:00Z");
        JobRun ok = new JobRun("run-log-test-1", "ingest demo", "ingest demo", "abc", start, start.plusMillis(2500),
                JobRun.Status.SUCCEEDED, 10L, 8L, 2L, Optional.empty());
        log.record(ok);
        log.record(ok);
        log.record(new JobRun("run-log-test-2", "ingest demo", "ingest demo", "abc", start.plusSeconds(60),
                start.plusSeconds(61), JobRun.Status.FAILED, null, null, null, Optional.of("source missing")));

        Row[] rows = (Row[]) lakehouse.spark().sql("SELECT run_id, status, duration_s, rows_in, rows_out, rows_quarantined,"
                + " error FROM ops.job_runs WHERE run_id LIKE 'run-log-test-%' ORDER BY run_id").collect();
        assertEquals(2, rows.length);
        assertEquals("succeeded", rows[0].getString(1));
        assertEquals(2.5, rows[0].getDouble(2), 1e-9);
        assertEquals(10L, rows[0].getLong(3));
        assertEquals(2L, rows[0].getLong(5));
        assertEquals("failed", rows[1].getString(1));
        assertEquals(true, rows[1].isNullAt(3));
        assertEquals("source missing", rows[1].getString(6));
    }
}
