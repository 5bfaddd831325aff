package dev.kiln.lakehouse.runlog;

import static java.util.Objects.requireNonNull;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * Tells a run that is still going from one whose process is gone. A run written as {@code running} is gone
 * when its driver ran on this host and that process no longer exists (or the pid now belongs to a process
 * started after the run), or, for a driver on another host, when it has not sent a heartbeat for
 * {@code staleAfter}.
 */
public final class RunLiveness {
    private final String host;
    private final Instant now;
    private final Duration staleAfter;

    public RunLiveness(String host, Instant now, Duration staleAfter) {
        this.host = requireNonNull(host, "host is null");
        this.now = requireNonNull(now, "now is null");
        this.staleAfter = requireNonNull(staleAfter, "staleAfter is null");
    }

    /** This host, now, with the recorder's heartbeat interval. */
    public static RunLiveness here() {
        return new RunLiveness(localHost(), Instant.now(), JobRunRecorder.STALE_AFTER);
    }

    /** The reason the run's process is gone; empty for a finished run and for one that may still be going. */
    public Optional<String> whyGone(JobRun run) {
        requireNonNull(run, "run is null");
        if (run.status() != JobRun.Status.RUNNING) {
            return Optional.empty();
        }
        JobRun.Origin o = run.origin();
        if (host.equals(o.host()) && o.pid() != null) {
            Optional<ProcessHandle> process = ProcessHandle.of(o.pid()).filter(ProcessHandle::isAlive);
            if (process.isEmpty()) {
                return Optional.of("process " + o.pid() + " on " + o.host() + " is gone");
            }
            Optional<Instant> processStart = process.get().info().startInstant();
            // Process start times are rounded; a pid reused by a later process started well after the run.
            if (processStart.isPresent() && processStart.get().isAfter(run.startedAt().plusSeconds(5))) {
                return Optional.of("process " + o.pid() + " on " + o.host() + " is gone (the pid is reused)");
            }
            return Optional.empty();
        }
        Instant lastSign = run.heartbeatAt() != null ? run.heartbeatAt() : run.startedAt();
        if (Duration.between(lastSign, now).compareTo(staleAfter) > 0) {
            return Optional.of("no heartbeat since " + lastSign + (o.host() == null ? "" : " from " + o.host()));
        }
        return Optional.empty();
    }

    /** The status to show: {@code not finished} for a run whose process is gone, else the stored status. */
    public String state(JobRun run) {
        return whyGone(run).isPresent() ? "not finished" : run.status().name().toLowerCase(java.util.Locale.ROOT);
    }

    static String localHost() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            String env = System.getenv("HOSTNAME");
            return env == null || env.isBlank() ? "localhost" : env;
        }
    }
}
