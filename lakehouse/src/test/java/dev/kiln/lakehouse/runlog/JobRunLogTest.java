package dev.kiln.lakehouse.runlog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.lakehouse.TestLakehouse;
import dev.kiln.lakehouse.catalog.Lakehouse;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
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

    /** A run log written before the origin columns existed keeps its rows and gains the columns. */
    @Test
    void addsTheNewColumnsToARunLogOfTheFirstSchema() throws Exception {
        StructType firstSchema = new StructType()
                .add("run_id", DataTypes.StringType, false).add("job", DataTypes.StringType, false)
                .add("arguments", DataTypes.StringType, false).add("config_hash", DataTypes.StringType, false)
                .add("started_at", DataTypes.TimestampType, false).add("ended_at", DataTypes.TimestampType, false)
                .add("duration_s", DataTypes.DoubleType, false).add("status", DataTypes.StringType, false)
                .add("rows_in", DataTypes.LongType, true).add("rows_out", DataTypes.LongType, true)
                .add("rows_quarantined", DataTypes.LongType, true).add("error", DataTypes.StringType, true);
        lakehouse.spark().sql("DROP TABLE IF EXISTS " + JobRunLog.TABLE.quoted());
        lakehouse.forget(JobRunLog.TABLE);
        org.apache.hadoop.fs.Path location = new org.apache.hadoop.fs.Path(lakehouse.locationOf(JobRunLog.TABLE));
        FileSystem fs = location.getFileSystem(lakehouse.spark().sparkContext().hadoopConfiguration());
        fs.delete(location, true);
        lakehouse.createIfMissing(JobRunLog.TABLE, firstSchema, List.of(), "first schema", java.util.Map.of());
        java.sql.Timestamp t = java.sql.Timestamp.from(Instant.parse("2024-04-01T08:00:00Z"));
        lakehouse.spark().createDataFrame(List.of(RowFactory.create("old-run", "ingest demo", "ingest demo", "h", t, t,
                0.0, "succeeded", 1L, 1L, 0L, null)), firstSchema).write().format("delta").mode("append")
                .save(location.toString());

        JobRunLog log = new JobRunLog(lakehouse);
        JobRun.Origin origin = new JobRun.Origin("local-123", "local[2]", "abc123", "file:/tmp/e/eventlog_v2_local-123",
                "host-a", 42L);
        JobRun started = JobRun.started("new-run", "ingest demo", "ingest demo --date 2024-05-01", "h",
                Instant.parse("2024-05-01T08:00:00Z"), origin);
        log.started(started);
        log.started(started); // idempotent per run id
        assertEquals(JobRun.Status.RUNNING, log.find("new-run").orElseThrow().status());
        assertEquals(null, log.find("new-run").orElseThrow().endedAt());
        log.record(started.ended(Instant.parse("2024-05-01T08:00:03Z"), JobRun.Status.SUCCEEDED, 5L, 4L, 1L,
                Optional.empty()));

        StructType evolved = lakehouse.read(JobRunLog.TABLE).schema();
        for (String column : List.of("spark_app_id", "spark_master", "kiln_version", "event_log", "host", "pid",
                "heartbeat_at")) {
            assertTrue(List.of(evolved.fieldNames()).contains(column), column + " in " + evolved.simpleString());
        }
        assertTrue(evolved.apply("ended_at").nullable());
        JobRun old = log.find("old-run").orElseThrow();
        assertEquals(JobRun.Origin.UNKNOWN, old.origin());
        assertEquals(JobRun.Status.SUCCEEDED, old.status());
        JobRun recorded = log.find("new-run").orElseThrow();
        assertEquals(JobRun.Status.SUCCEEDED, recorded.status());
        assertEquals(origin, recorded.origin());
        assertEquals(3.0, recorded.durationSeconds().orElseThrow(), 1e-9);
        assertEquals(1L, lakehouse.read(JobRunLog.TABLE).where("run_id = 'new-run'").count());
        assertEquals(List.of("new-run", "old-run"), log.runs(10, false).stream().map(JobRun::runId).toList());
        assertFalse(log.runs(10, true).stream().anyMatch(r -> r.runId().equals("new-run")));
    }
}
