package dev.kiln.lakehouse.runlog;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The run log, {@code ops.job_runs}: one row per job run. {@link #started} appends the row when a job starts
 * (status {@code running}); {@link #ended} (or {@link #record}) writes its end over it, so a run whose process died stays
 * {@code running} with no end, and {@link RunLiveness} tells it apart from one still going.
 *
 * <p>Commit semantics: {@link #started} is a blind append, idempotent per run id (Delta's txnAppId), and never
 * conflicts with other jobs writing their rows at the same time. {@link #ended} is a Delta UPDATE of the run's
 * row; {@link #record} is a Delta MERGE on the run id
 * (update, or insert when no start row exists): recording the same run again rewrites the same row. Its
 * target predicate names the run id, so writes of different runs touch different files; a conflict that still
 * happens (files compacted together) is retried. Tables created before the origin columns existed gain them
 * (and lose NOT NULL on the end columns) the first time this class writes to them.
 */
public final class JobRunLog {
    public static final TableName TABLE = TableName.of("ops", "job_runs");

    /** Columns added after the first release, in the order they are appended to an existing table. */
    static final StructType ORIGIN_COLUMNS = new StructType()
            .add("spark_app_id", DataTypes.StringType, true)
            .add("spark_master", DataTypes.StringType, true)
            .add("kiln_version", DataTypes.StringType, true)
            .add("event_log", DataTypes.StringType, true)
            .add("host", DataTypes.StringType, true)
            .add("pid", DataTypes.LongType, true)
            .add("heartbeat_at", DataTypes.TimestampType, true);

    static final StructType SCHEMA;

    static {
        StructType s = new StructType()
                .add("run_id", DataTypes.StringType, false)
                .add("job", DataTypes.StringType, false)
                .add("arguments", DataTypes.StringType, false)
                .add("config_hash", DataTypes.StringType, false)
                .add("started_at", DataTypes.TimestampType, false)
                .add("ended_at", DataTypes.TimestampType, true)
                .add("duration_s", DataTypes.DoubleType, true)
                .add("status", DataTypes.StringType, false)
                .add("rows_in", DataTypes.LongType, true)
                .add("rows_out", DataTypes.LongType, true)
                .add("rows_quarantined", DataTypes.LongType, true)
                .add("error", DataTypes.StringType, true);
        for (StructField f : ORIGIN_COLUMNS.fields()) {
            s = s.add(f);
        }
        SCHEMA = s;
    }

    private final Lakehouse lakehouse;

    public JobRunLog(Lakehouse lakehouse) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
    }

    /** Appends the row of a run that has just started; idempotent per run id. */
    public void started(JobRun run) {
        requireNonNull(run, "run is null");
        ensureTable();
        lakehouse.commits().append(TABLE, lakehouse.spark().createDataFrame(List.of(toRow(run)), SCHEMA).coalesce(1))
                .idempotent("kiln-run-start:" + run.runId(), 0)
                .commit();
    }

    /** Writes the run's row (usually its end over its start row); idempotent per run id. */
    public void record(JobRun run) {
        requireNonNull(run, "run is null");
        ensureTable();
        Dataset<Row> source = lakehouse.spark().createDataFrame(List.of(toRow(run)), SCHEMA);
        Column sameRun = col("t.run_id").equalTo(lit(run.runId())).and(col("t.run_id").equalTo(col("s.run_id")));
        lakehouse.commits().merge(TABLE, source, sameRun).updateAll().insertAll().commit();
    }

    /**
     * Writes the end of a run whose start row {@link #started} committed: a Delta UPDATE of that one row (its
     * end columns only), cheaper than {@link #record}'s MERGE; writing the same end again changes nothing.
     */
    public void ended(JobRun run) {
        requireNonNull(run, "run is null");
        if (run.status() == JobRun.Status.RUNNING) {
            throw new IllegalArgumentException("run " + run.runId() + " has not ended");
        }
        Map<String, Column> set = new java.util.LinkedHashMap<>();
        set.put("ended_at", lit(Timestamp.from(run.endedAt())));
        set.put("duration_s", lit(run.durationSeconds().orElseThrow()));
        set.put("status", lit(run.status().name().toLowerCase(Locale.ROOT)));
        set.put("rows_in", lit(run.rowsIn()).cast(DataTypes.LongType));
        set.put("rows_out", lit(run.rowsOut()).cast(DataTypes.LongType));
        set.put("rows_quarantined", lit(run.rowsQuarantined()).cast(DataTypes.LongType));
        set.put("error", lit(run.error().orElse(null)).cast(DataTypes.StringType));
        lakehouse.commits().update(TABLE, col("run_id").equalTo(lit(run.runId())), set).commit();
    }

    /** Sets the run's heartbeat; a run that already ended keeps its row as it is. */
    public void heartbeat(String runId, Instant at) {
        requireNonNull(runId, "runId is null");
        requireNonNull(at, "at is null");
        lakehouse.commits().update(TABLE, col("run_id").equalTo(lit(runId)).and(col("status").equalTo(lit("running"))),
                Map.of("heartbeat_at", lit(Timestamp.from(at)))).commit();
    }

    /**
     * Creates the run log if it does not exist yet (before jobs that run side by side record their runs), or
     * adds the columns an older run log lacks.
     */
    public void ensureTable() {
        if (lakehouse.createIfMissing(TABLE, SCHEMA, List.of(), "One row per Kiln job run", Map.of())) {
            return;
        }
        lakehouse.commits().retry().run("adding columns to " + TABLE, () -> {
            evolve();
            return null;
        });
    }

    private void evolve() {
        StructType current = lakehouse.read(TABLE).schema();
        List<String> missing = new ArrayList<>();
        for (StructField f : ORIGIN_COLUMNS.fields()) {
            if (!List.of(current.fieldNames()).contains(f.name())) {
                missing.add("`" + f.name() + "` " + f.dataType().sql());
            }
        }
        if (!missing.isEmpty()) {
            lakehouse.spark().sql("ALTER TABLE " + TABLE.quoted() + " ADD COLUMNS (" + String.join(", ", missing) + ")");
        }
        for (String column : List.of("ended_at", "duration_s")) {
            if (!current.apply(column).nullable()) {
                lakehouse.spark().sql("ALTER TABLE " + TABLE.quoted() + " ALTER COLUMN `" + column + "` DROP NOT NULL");
            }
        }
    }

    /** Most recent runs first, as stored (a run whose process died still says {@code running}). */
    public Dataset<Row> recent(int limit) {
        return lakehouse.read(TABLE).orderBy(col("started_at").desc()).limit(limit);
    }

    /**
     * The {@code limit} most recent runs, newest first; with {@code unsuccessfulOnly}, only those that failed
     * or were still {@code running} when last written (the caller tells the dead from the living with
     * {@link RunLiveness}). Empty when no run was ever recorded.
     */
    public List<JobRun> runs(int limit, boolean unsuccessfulOnly) {
        if (!lakehouse.exists(TABLE)) {
            return List.of();
        }
        Dataset<Row> rows = lakehouse.read(TABLE);
        if (unsuccessfulOnly) {
            rows = rows.where(col("status").isin("failed", "running"));
        }
        List<JobRun> out = new ArrayList<>();
        for (Row r : (Row[]) rows.orderBy(col("started_at").desc(), col("run_id")).limit(limit).collect()) {
            out.add(fromRow(r));
        }
        return List.copyOf(out);
    }

    /** The run with this id, if it was recorded. */
    public Optional<JobRun> find(String runId) {
        requireNonNull(runId, "runId is null");
        if (!lakehouse.exists(TABLE)) {
            return Optional.empty();
        }
        Row[] rows = (Row[]) lakehouse.read(TABLE).where(col("run_id").equalTo(lit(runId))).limit(1).collect();
        return rows.length == 0 ? Optional.empty() : Optional.of(fromRow(rows[0]));
    }

    private static Row toRow(JobRun run) {
        JobRun.Origin o = run.origin();
        return RowFactory.create(
                run.runId(), run.job(), run.arguments(), run.configHash(),
                Timestamp.from(run.startedAt()), run.endedAt() == null ? null : Timestamp.from(run.endedAt()),
                run.durationSeconds().orElse(null),
                run.status().name().toLowerCase(Locale.ROOT),
                run.rowsIn(), run.rowsOut(), run.rowsQuarantined(), run.error().orElse(null),
                o.sparkAppId(), o.sparkMaster(), o.kilnVersion(), o.eventLog(), o.host(), o.pid(),
                run.heartbeatAt() == null ? null : Timestamp.from(run.heartbeatAt()));
    }

    /** Reads a row of the current or of an older schema (missing columns read as null). */
    static JobRun fromRow(Row r) {
        return new JobRun(r.getAs("run_id"), r.getAs("job"), r.getAs("arguments"), r.getAs("config_hash"),
                instant(r, "started_at"), instant(r, "ended_at"),
                JobRun.Status.valueOf(r.<String>getAs("status").toUpperCase(Locale.ROOT)),
                get(r, "rows_in"), get(r, "rows_out"), get(r, "rows_quarantined"), Optional.ofNullable(get(r, "error")),
                new JobRun.Origin(get(r, "spark_app_id"), get(r, "spark_master"), get(r, "kiln_version"),
                        get(r, "event_log"), get(r, "host"), get(r, "pid")),
                instant(r, "heartbeat_at"));
    }

    private static <T> T get(Row r, String column) {
        if (!List.of(r.schema().fieldNames()).contains(column)) {
            return null;
        }
        int i = r.fieldIndex(column);
        return r.isNullAt(i) ? null : r.getAs(i);
    }

    private static Instant instant(Row r, String column) {
        Timestamp t = get(r, column);
        return t == null ? null : t.toInstant();
    }
}
