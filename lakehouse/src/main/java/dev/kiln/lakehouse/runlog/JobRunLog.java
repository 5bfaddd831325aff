package dev.kiln.lakehouse.runlog;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.col;

import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import java.sql.Timestamp;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The run log, {@code ops.job_runs}: one row per job run, appended when the job ends (successfully or
 * not). Each append is its own Delta commit, idempotent per run id.
 */
public final class JobRunLog {
    public static final TableName TABLE = TableName.of("ops", "job_runs");

    static final StructType SCHEMA = new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("job", DataTypes.StringType, false)
            .add("arguments", DataTypes.StringType, false)
            .add("config_hash", DataTypes.StringType, false)
            .add("started_at", DataTypes.TimestampType, false)
            .add("ended_at", DataTypes.TimestampType, false)
            .add("duration_s", DataTypes.DoubleType, false)
            .add("status", DataTypes.StringType, false)
            .add("rows_in", DataTypes.LongType, true)
            .add("rows_out", DataTypes.LongType, true)
            .add("rows_quarantined", DataTypes.LongType, true)
            .add("error", DataTypes.StringType, true);

    private final Lakehouse lakehouse;

    public JobRunLog(Lakehouse lakehouse) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
    }

    public void record(JobRun run) {
        requireNonNull(run, "run is null");
        ensureTable();
        Row row = RowFactory.create(
                run.runId(), run.job(), run.arguments(), run.configHash(),
                Timestamp.from(run.startedAt()), Timestamp.from(run.endedAt()),
                (run.endedAt().toEpochMilli() - run.startedAt().toEpochMilli()) / 1000.0,
                run.status().name().toLowerCase(java.util.Locale.ROOT),
                run.rowsIn(), run.rowsOut(), run.rowsQuarantined(), run.error().orElse(null));
        lakehouse.spark().createDataFrame(List.of(row), SCHEMA).coalesce(1)
                .write().format("delta").mode("append")
                .option("txnAppId", "kiln-run:" + run.runId()).option("txnVersion", "0")
                .save(lakehouse.locationOf(TABLE));
    }

    /** Creates the run log if it does not exist yet (before jobs that run side by side record their runs). */
    public void ensureTable() {
        lakehouse.createIfMissing(TABLE, SCHEMA, List.of(), "One row per Kiln job run", java.util.Map.of());
    }

    /** Most recent runs first. */
    public Dataset<Row> recent(int limit) {
        return lakehouse.read(TABLE).orderBy(col("started_at").desc()).limit(limit);
    }
}
