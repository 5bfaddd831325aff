package dev.kiln.lakehouse.lineage;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import dev.kiln.lakehouse.config.ConfigException;
import dev.kiln.lakehouse.config.ConfigSection;
import java.net.URI;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The {@code kiln.lineage.openlineage} section: where Kiln's jobs send OpenLineage run events (off unless a URL or a
 * file is set), and the parent run a scheduler passes ({@code --conf kiln.lineage.openlineage.parent-run-id=...}).
 *
 * @param url                an HTTP endpoint that takes one event per POST (Marquez: {@code http://host:5000/api/v1/lineage})
 * @param file               a file that gets one event per line (appended)
 * @param namespace          the namespace of Kiln's jobs
 * @param parentRunId        the run (a UUID) this job runs under, if any (an Airflow task's OpenLineage run)
 * @param parentJobNamespace that run's job namespace
 * @param parentJobName      that run's job name
 * @param timeoutSeconds     per HTTP request
 */
public record LineageSettings(Optional<URI> url, Optional<Path> file, String namespace, Optional<String> parentRunId,
        String parentJobNamespace, Optional<String> parentJobName, int timeoutSeconds) {
    public static final String PATH = "kiln.lineage.openlineage";
    public static final LineageSettings OFF = new LineageSettings(Optional.empty(), Optional.empty(), "kiln", Optional.empty(),
            "kiln", Optional.empty(), 5);

    public LineageSettings {
        requireNonNull(url, "url is null");
        requireNonNull(file, "file is null");
        requireNonNull(namespace, "namespace is null");
        requireNonNull(parentRunId, "parentRunId is null");
        requireNonNull(parentJobName, "parentJobName is null");
        if (parentRunId.isPresent()) {
            try {
                java.util.UUID.fromString(parentRunId.get());
            } catch (IllegalArgumentException e) {
                throw new ConfigException(PATH + ".parent-run-id", "must be a UUID (an OpenLineage run id), got " + parentRunId.get());
            }
            if (parentJobName.isEmpty()) {
                throw new ConfigException(PATH + ".parent-job-name", "is empty while parent-run-id is set: name the parent's job");
            }
        }
    }

    /** Parses {@code kiln.lineage.openlineage} (defaults when absent: off); errors name the config path. */
    public static LineageSettings parse(Config config) {
        ConfigSection c = ConfigSection.root(config).sectionOrEmpty(PATH);
        String url = c.string("url", "").trim();
        Optional<URI> parsed = Optional.empty();
        if (!url.isEmpty()) {
            URI u = URI.create(url);
            if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme())) {
                throw new ConfigException(PATH + ".url", "must be an http(s) URL, got " + url);
            }
            parsed = Optional.of(u);
        }
        String file = c.string("file", "").trim();
        String parent = c.string("parent-run-id", "").trim();
        String parentJob = c.string("parent-job-name", "").trim();
        return new LineageSettings(parsed, file.isEmpty() ? Optional.empty() : Optional.of(Path.of(file)),
                c.string("namespace", "kiln").trim(), parent.isEmpty() ? Optional.empty() : Optional.of(parent),
                c.string("parent-job-namespace", "airflow").trim(), parentJob.isEmpty() ? Optional.empty() : Optional.of(parentJob),
                c.integer("timeout-seconds", 5));
    }

    public boolean enabled() {
        return url.isPresent() || file.isPresent();
    }
}
