package dev.kiln.lakehouse.fault;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.KilnException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.FilterFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * Fault injection for the crash-safety tests: named points inside the writes of Kiln's jobs where a process can
 * be made to stop, so that a test kills it there with SIGKILL and checks what a re-run does.
 *
 * <p>Off unless the process was started with the environment variable {@value #POINT_ENV} naming a point
 * ({@code <job>.<point>}, e.g. {@code train.after-registry-row}): on reaching that point the process writes the
 * file {@value #MARKER_ENV} names (the point's name, then a newline) and blocks for good, waiting to be killed.
 * Every other point, and every point in a process without the variable, costs one environment lookup. The points
 * are listed in the README (crash behaviour); a test that arms an unknown name waits in vain, so the names are
 * constants here.
 */
public final class CrashPoint {
    public static final String POINT_ENV = "KILN_CRASH_POINT";
    public static final String MARKER_ENV = "KILN_CRASH_MARKER";

    /** {@code raw.<dataset>} committed, {@code raw.<dataset>_quarantine} not yet. */
    public static final String INGEST_AFTER_DATA_COMMIT = "ingest.after-data-commit";
    /** The feature table's new periods committed, {@code features.catalog} not updated yet. */
    public static final String MATERIALIZE_AFTER_TABLE_COMMIT = "features-materialize.after-table-commit";
    /** The backfilled dates replaced in the feature table, {@code features.catalog} not updated yet. */
    public static final String BACKFILL_AFTER_TABLE_COMMIT = "features-backfill.after-table-commit";
    /** The training set's snapshot table written, its {@code features.training_sets} row not yet. */
    public static final String TRAINING_SET_AFTER_SNAPSHOT = "training-set-build.after-snapshot";
    /** The model's {@code ml.models} row committed, its artifact not yet moved from staging to its version's path. */
    public static final String TRAIN_AFTER_REGISTRY_ROW = "train.after-registry-row";
    /** Inside the {@code ml.model_aliases} MERGE: its Spark job runs, nothing committed. */
    public static final String PROMOTE_IN_ALIAS_MERGE = "models-promote.in-alias-merge";
    /** Inside the {@code ml.predictions} write: the first task's data files written, the last task's not, no commit. */
    public static final String SCORE_IN_PREDICTIONS_WRITE = "score.in-predictions-write";
    /** {@code reports.evaluation} committed, the run's end not yet in {@code ops.job_runs}. */
    public static final String EVALUATE_AFTER_COMMIT = "evaluate.after-report-commit";
    /** {@code reports.drift}, {@code reports.data_profile} and {@code reports.alerts} committed, the run's end not yet. */
    public static final String DRIFT_AFTER_ALERTS = "drift.after-alerts-commit";

    private CrashPoint() {}

    /** Stops here for good when this process was started with {@value #POINT_ENV} set to {@code point}. */
    public static void reached(String point) {
        reached(point, System.getenv());
    }

    static void reached(String point, Map<String, String> env) {
        requireNonNull(point, "point is null");
        if (!point.equals(env.get(POINT_ENV))) {
            return;
        }
        String marker = env.get(MARKER_ENV);
        if (marker == null || marker.isBlank()) {
            throw new KilnException(POINT_ENV + "=" + point + " needs " + MARKER_ENV + " (the file to write on reaching it)");
        }
        try {
            Path target = Path.of(marker);
            Path partial = target.resolveSibling(target.getFileName() + ".partial");
            Files.writeString(partial, point + "\n", StandardCharsets.UTF_8);
            Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new KilnException("crash point " + point + ": cannot write " + marker + ": " + e.getMessage(), e);
        }
        while (true) { // until SIGKILL
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                // a job cancelled around a stopped task: keep waiting for the kill
            }
        }
    }

    /**
     * {@code rows} unchanged, or, when {@code point} is armed, rows whose writing stops in the task of the last
     * partition (tasks of earlier partitions finish and write their files first on a one-core local master): the
     * process stops inside the Spark job of a write, before its commit. Meant for local masters, where tasks run in
     * the driver's process and see its environment.
     */
    public static Dataset<Row> inLastTask(Dataset<Row> rows, String point) {
        requireNonNull(rows, "rows is null");
        if (!point.equals(System.getenv(POINT_ENV))) {
            return rows;
        }
        int last = rows.rdd().getNumPartitions() - 1;
        return rows.filter((FilterFunction<Row>) r -> {
            TaskContext task = TaskContext.get();
            if (task != null && task.partitionId() == last) {
                reached(point);
            }
            return true;
        });
    }
}
