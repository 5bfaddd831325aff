package dev.kiln.lakehouse.runlog;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.deploy.history.EventLogFileReader;
import org.apache.spark.io.CompressionCodec;
import scala.jdk.javaapi.CollectionConverters;

/**
 * A Spark application's event log, the file (or rolling directory {@code eventlog_v2_<app id>}) the History
 * Server reads: where Spark writes it, and the stages' times read back from it.
 */
public final class EventLog {
    private static final ObjectMapper JSON = new ObjectMapper();

    private EventLog() {}

    /** Where the running application writes its event log; empty when event logging is off. */
    public static Optional<String> location(SparkContext sc) {
        requireNonNull(sc, "sc is null");
        SparkConf conf = sc.getConf();
        if (!conf.getBoolean("spark.eventLog.enabled", false)) {
            return Optional.empty();
        }
        String dir = conf.get("spark.eventLog.dir", "/tmp/spark-events");
        String name = sanitize(sc.applicationId())
                + (sc.applicationAttemptId().isDefined() ? "_" + sanitize(sc.applicationAttemptId().get()) : "");
        if (conf.getBoolean("spark.eventLog.rolling.enabled", false)) {
            return Optional.of(stripSlash(dir) + "/eventlog_v2_" + name);
        }
        String codec = conf.getBoolean("spark.eventLog.compress", true)
                ? "." + CompressionCodec.getShortName(conf.get("spark.eventLog.compression.codec", "zstd")) : "";
        return Optional.of(stripSlash(dir) + "/" + name + codec);
    }

    /** One stage attempt of an application: when it was submitted and completed, and why it failed. */
    public record StageTime(int stageId, int attempt, String name, int tasks, Instant submitted, Instant completed,
            Optional<String> failure) {
        public StageTime {
            requireNonNull(name, "name is null");
            requireNonNull(failure, "failure is null");
        }

        /** Empty while the stage had not completed when the log was last written. */
        public Optional<Duration> duration() {
            return submitted == null || completed == null ? Optional.empty()
                    : Optional.of(Duration.between(submitted, completed));
        }
    }

    /**
     * The stages of the application whose event log is at {@code location} (a rolling directory or a single,
     * possibly compressed, file; an in-progress log is read as far as it was written), ordered by stage id
     * and attempt.
     *
     * @throws EventLogNotFoundException when nothing is at {@code location}
     */
    public static List<StageTime> stages(String location, Configuration hadoopConf) {
        requireNonNull(location, "location is null");
        requireNonNull(hadoopConf, "hadoopConf is null");
        try {
            Path path = new Path(location);
            FileSystem fs = path.getFileSystem(hadoopConf);
            if (!fs.exists(path) && fs.exists(new Path(location + ".inprogress"))) {
                path = new Path(location + ".inprogress");
            }
            if (!fs.exists(path)) {
                throw new EventLogNotFoundException(location);
            }
            scala.Option<EventLogFileReader> reader = EventLogFileReader.apply(fs, path);
            if (reader.isEmpty()) {
                throw new EventLogNotFoundException(location);
            }
            Map<String, StageTime> stages = new TreeMap<>();
            for (FileStatus file : CollectionConverters.asJava(reader.get().listEventLogFiles())) {
                readStages(EventLogFileReader.openEventLog(file.getPath(), fs), stages);
            }
            List<StageTime> out = new ArrayList<>(stages.values());
            out.sort((a, b) -> a.stageId() != b.stageId() ? Integer.compare(a.stageId(), b.stageId())
                    : Integer.compare(a.attempt(), b.attempt()));
            return List.copyOf(out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the event log " + location, e);
        }
    }

    private static void readStages(InputStream in, Map<String, StageTime> stages) throws IOException {
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = readLine(lines)) != null) {
                if (!line.contains("SparkListenerStage")) {
                    continue;
                }
                JsonNode event;
                try {
                    event = JSON.readTree(line);
                } catch (IOException partialLastLine) { // a log still being written ends mid-line
                    continue;
                }
                String kind = event.path("Event").asText();
                if (!kind.equals("SparkListenerStageSubmitted") && !kind.equals("SparkListenerStageCompleted")) {
                    continue;
                }
                JsonNode info = event.path("Stage Info");
                int id = info.path("Stage ID").asInt();
                int attempt = info.path("Stage Attempt ID").asInt();
                StageTime stage = new StageTime(id, attempt, info.path("Stage Name").asText(""),
                        info.path("Number of Tasks").asInt(), time(info, "Submission Time"),
                        time(info, "Completion Time"),
                        Optional.ofNullable(info.get("Failure Reason")).map(JsonNode::asText)
                                .map(s -> s.lines().findFirst().orElse(s)));
                stages.put(String.format(Locale.ROOT, "%010d-%05d", id, attempt), stage);
            }
        }
    }

    /** A compressed log still being written ends mid-frame: what was read so far is the log. */
    private static String readLine(BufferedReader lines) {
        try {
            return lines.readLine();
        } catch (IOException truncated) {
            return null;
        }
    }

    private static Instant time(JsonNode info, String field) {
        JsonNode v = info.get(field);
        return v == null || !v.isNumber() ? null : Instant.ofEpochMilli(v.asLong());
    }

    /** Spark's own rule for the file name of an application id (EventLogFileWriter.nameForAppAndAttempt). */
    private static String sanitize(String s) {
        return s.replaceAll("[ :/]", "-").replaceAll("[.${}'\"]", "_").toLowerCase(Locale.ROOT);
    }

    private static String stripSlash(String dir) {
        return dir.endsWith("/") ? dir.substring(0, dir.length() - 1) : dir;
    }

    /** Nothing is at the event log's location: event logging was off, or the log was removed. */
    public static final class EventLogNotFoundException extends dev.kiln.lakehouse.KilnException {
        EventLogNotFoundException(String location) {
            super("no Spark event log at " + location + " (was spark.eventLog.enabled off for that run, or was the"
                    + " log cleaned up?)");
        }
    }
}
