package dev.kiln.lakehouse.runlog;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.catalog.Lakehouse;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records job runs in {@code ops.job_runs} as they happen: {@link #start} writes the run's row with status
 * {@code running} and where it runs (Spark application id, master, event log, Kiln build, host and pid), then
 * beats a heartbeat into it every {@link #HEARTBEAT_EVERY}; the returned {@link StartedRun} writes its end.
 * A process that dies between the two leaves a {@code running} row that {@link RunLiveness} shows as not
 * finished. Each write is its own Delta commit (see {@link JobRunLog} for what is idempotent).
 */
public final class JobRunRecorder {
    /** How often a run says it is alive; a remote driver silent for {@link #STALE_AFTER} counts as gone. */
    public static final Duration HEARTBEAT_EVERY = Duration.ofMinutes(5);
    public static final Duration STALE_AFTER = HEARTBEAT_EVERY.multipliedBy(3);

    private static final Logger LOG = LoggerFactory.getLogger(JobRunRecorder.class);

    private final Lakehouse lakehouse;
    private final JobRunLog log;
    private final Duration heartbeatEvery;

    public JobRunRecorder(Lakehouse lakehouse) {
        this(lakehouse, HEARTBEAT_EVERY);
    }

    JobRunRecorder(Lakehouse lakehouse, Duration heartbeatEvery) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
        this.log = new JobRunLog(lakehouse);
        this.heartbeatEvery = requireNonNull(heartbeatEvery, "heartbeatEvery is null");
    }

    /** Writes the row of a run that starts now (status {@code running}) and starts its heartbeat. */
    public StartedRun start(String job, String arguments, String configHash) {
        requireNonNull(job, "job is null");
        requireNonNull(arguments, "arguments is null");
        requireNonNull(configHash, "configHash is null");
        JobRun run = JobRun.started(UUID.randomUUID().toString(), job, arguments, configHash, Instant.now(), origin());
        log.started(run);
        return new StartedRun(run);
    }

    /** Where this JVM runs jobs. */
    public JobRun.Origin origin() {
        SparkContext sc = lakehouse.spark().sparkContext();
        return new JobRun.Origin(sc.applicationId(), sc.master(), KilnBuild.version(),
                EventLog.location(sc).orElse(null), RunLiveness.localHost(), ProcessHandle.current().pid());
    }

    /** A run that started and has not been ended yet; end it once, with {@link #succeeded} or {@link #failed}. */
    public final class StartedRun {
        private final JobRun run;
        private final ScheduledExecutorService heartbeat;

        private StartedRun(JobRun run) {
            this.run = run;
            this.heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "kiln-run-heartbeat-" + run.runId());
                t.setDaemon(true);
                return t;
            });
            long every = heartbeatEvery.toMillis();
            heartbeat.scheduleWithFixedDelay(this::beat, every, every, TimeUnit.MILLISECONDS);
        }

        public String runId() {
            return run.runId();
        }

        /** The run as written at its start. */
        public JobRun run() {
            return run;
        }

        /** Writes the run's successful end with the rows it moved (null for jobs that move none). */
        public JobRun succeeded(Long rowsIn, Long rowsOut, Long rowsQuarantined) {
            return end(run.ended(Instant.now(), JobRun.Status.SUCCEEDED, rowsIn, rowsOut, rowsQuarantined,
                    Optional.empty()));
        }

        /** Writes the run's failure. */
        public JobRun failed(String message) {
            return end(run.ended(Instant.now(), JobRun.Status.FAILED, null, null, null, Optional.ofNullable(message)));
        }

        private JobRun end(JobRun ended) {
            stopHeartbeat();
            log.ended(ended);
            return ended;
        }

        private void beat() {
            try {
                log.heartbeat(run.runId(), Instant.now());
            } catch (RuntimeException e) { // a missed beat is not worth failing the job for
                LOG.warn("heartbeat of run {} not written: {}", run.runId(), e.toString());
            }
        }

        private void stopHeartbeat() {
            heartbeat.shutdown();
            try {
                // a beat in flight finishes first, so it does not race the end's UPDATE
                heartbeat.awaitTermination(2, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
