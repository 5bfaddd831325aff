package dev.kiln.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.apache.spark.SparkContext;
import org.apache.spark.executor.TaskMetrics;
import org.apache.spark.metrics.source.HiveCatalogMetrics;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerStageCompleted;

/**
 * What Spark, Delta and the catalog did during a stretch of a bench run: Spark jobs, stages run (skipped ones, whose
 * shuffle output was reused, not counted) and their tasks, bytes read from files, written to files and shuffled,
 * Delta commits (new {@code _delta_log} JSON files under the run's tables), metastore calls (Spark's Hive client
 * counter; 0 for the hand-written side, which uses paths), and the time no Spark job was running: the driver's own
 * work (catalog, commits, planning, class loading, waiting), taken from the listener's event times.
 */
final class WorkWatch extends SparkListener implements AutoCloseable {
    /** One stretch's figures. */
    record Work(long jobs, long stages, long tasks, long commits, long metastoreCalls, long bytesRead, long bytesWritten,
            long bytesShuffled, double driverOnlySeconds) {
        static final Work NONE = new Work(0, 0, 0, 0, 0, 0, 0, 0, 0);

        String tsv() {
            return String.join("\t", Long.toString(jobs), Long.toString(stages), Long.toString(tasks), Long.toString(commits),
                    Long.toString(metastoreCalls), Long.toString(bytesRead), Long.toString(bytesWritten), Long.toString(bytesShuffled),
                    Double.toString(driverOnlySeconds));
        }

        static Work parse(String[] f, int from) {
            return new Work(Long.parseLong(f[from]), Long.parseLong(f[from + 1]), Long.parseLong(f[from + 2]),
                    Long.parseLong(f[from + 3]), Long.parseLong(f[from + 4]), Long.parseLong(f[from + 5]),
                    Long.parseLong(f[from + 6]), Long.parseLong(f[from + 7]), Double.parseDouble(f[from + 8]));
        }
    }

    private final SparkContext sc;
    private final Path tables;
    private long jobs;
    private long stages;
    private long tasks;
    private long bytesRead;
    private long bytesWritten;
    private long bytesShuffled;
    private int active;
    private long busySince;
    private long busyMillis;
    private long commitsBefore;
    private long metastoreBefore;
    private long beganMillis;

    /** Watches {@code sc}; Delta commits are counted under the local directory {@code tables}. */
    WorkWatch(SparkContext sc, Path tables) {
        this.sc = sc;
        this.tables = tables;
        sc.addSparkListener(this);
    }

    void begin() {
        drain(); // outside the lock: the listener thread takes it for every event it delivers
        synchronized (this) {
            reset();
        }
    }

    private void reset() {
        jobs = 0;
        stages = 0;
        tasks = 0;
        bytesRead = 0;
        bytesWritten = 0;
        bytesShuffled = 0;
        busyMillis = 0;
        beganMillis = System.currentTimeMillis();
        busySince = beganMillis;
        commitsBefore = commits(tables);
        metastoreBefore = HiveCatalogMetrics.METRIC_HIVE_CLIENT_CALLS().getCount();
    }

    /** The stretch since {@link #begin}, of {@code wallSeconds}. */
    Work end(double wallSeconds) {
        drain();
        synchronized (this) {
            long busy = busyMillis + (active > 0 ? System.currentTimeMillis() - busySince : 0);
            return new Work(jobs, stages, tasks, commits(tables) - commitsBefore,
                    HiveCatalogMetrics.METRIC_HIVE_CLIENT_CALLS().getCount() - metastoreBefore, bytesRead, bytesWritten,
                    bytesShuffled, Math.max(0, wallSeconds - busy / 1000.0));
        }
    }

    /** Waits until the listener has seen every event posted so far. */
    private void drain() {
        try {
            sc.listenerBus().waitUntilEmpty();
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("Spark's listener bus did not drain", e);
        }
    }

    @Override
    public synchronized void onJobStart(SparkListenerJobStart job) {
        jobs++;
        if (active++ == 0) {
            busySince = Math.max(job.time(), beganMillis);
        }
    }

    @Override
    public synchronized void onJobEnd(SparkListenerJobEnd job) {
        if (active > 0 && --active == 0) {
            busyMillis += Math.max(0, job.time() - busySince);
        }
    }

    @Override
    public synchronized void onStageCompleted(SparkListenerStageCompleted completed) {
        stages++;
        tasks += completed.stageInfo().numTasks();
        TaskMetrics m = completed.stageInfo().taskMetrics();
        if (m != null) {
            bytesRead += m.inputMetrics().bytesRead();
            bytesWritten += m.outputMetrics().bytesWritten();
            bytesShuffled += m.shuffleWriteMetrics().bytesWritten();
        }
    }

    /** Delta commit files ({@code _delta_log/<version>.json}) under {@code root}, partition directories not entered. */
    static long commits(Path root) {
        if (!Files.isDirectory(root)) {
            return 0;
        }
        try (Stream<Path> logs = Files.walk(root, 4)) {
            return logs.filter(p -> p.getFileName().toString().equals("_delta_log") && Files.isDirectory(p))
                    .mapToLong(WorkWatch::commitFiles).sum();
        } catch (IOException | java.io.UncheckedIOException e) {
            return -1; // a table dropped while walking: not counted
        }
    }

    private static long commitFiles(Path log) {
        try (Stream<Path> files = Files.list(log)) {
            return files.filter(f -> f.getFileName().toString().matches("[0-9]{20}\\.json")).count();
        } catch (IOException e) {
            return 0;
        }
    }

    @Override
    public void close() {
        sc.removeSparkListener(this);
    }
}
