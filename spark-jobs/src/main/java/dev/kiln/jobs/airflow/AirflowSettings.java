package dev.kiln.jobs.airflow;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import dev.kiln.lakehouse.config.ConfigException;
import dev.kiln.lakehouse.config.ConfigSection;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * The {@code kiln.airflow} section of the configuration: where Airflow's api-server is, where the
 * credentials file is (the credentials themselves never live in the config), and the DAG ids Kiln uses.
 */
public record AirflowSettings(URI url, Optional<Path> credentialsFile, String dailyDag, String retrainDag,
        Duration requestTimeout, int maxAttempts) {
    public static final String PATH = "kiln.airflow";

    public AirflowSettings {
        requireNonNull(url, "url is null");
        requireNonNull(credentialsFile, "credentialsFile is null");
        requireNonNull(dailyDag, "dailyDag is null");
        requireNonNull(retrainDag, "retrainDag is null");
        requireNonNull(requestTimeout, "requestTimeout is null");
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be at least 1, got " + maxAttempts);
        }
    }

    /** Parses {@code kiln.airflow} of a resolved configuration; errors name the config path. */
    public static AirflowSettings parse(Config config) {
        requireNonNull(config, "config is null");
        ConfigSection root = ConfigSection.root(config);
        if (!root.has(PATH)) {
            throw new ConfigException(PATH, "missing: add a kiln.airflow { url = \"http://localhost:8080\" } section to kiln.conf");
        }
        ConfigSection c = root.section(PATH);
        URI url = parseUrl(c.string("url"));
        String file = c.string("credentials-file", "").trim();
        return new AirflowSettings(url, file.isEmpty() ? Optional.empty() : Optional.of(Path.of(file)),
                dagId(c, "daily-dag", "kiln_flights_daily"), dagId(c, "retrain-dag", "kiln_retrain"),
                c.duration("request-timeout", Duration.ofSeconds(30)), attempts(c));
    }

    private static URI parseUrl(String text) {
        URI url;
        try {
            url = URI.create(text.endsWith("/") ? text.substring(0, text.length() - 1) : text);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(PATH + ".url", "not a URL: '" + text + "'");
        }
        if (!"http".equals(url.getScheme()) && !"https".equals(url.getScheme()) || url.getHost() == null) {
            throw new ConfigException(PATH + ".url", "expected http(s)://host[:port], got '" + text + "'");
        }
        return url;
    }

    private static String dagId(ConfigSection c, String key, String fallback) {
        String id = c.string(key, fallback);
        if (!id.matches("[A-Za-z0-9_.-]+")) {
            throw new ConfigException(PATH + "." + key, "not a DAG id: '" + id + "' (letters, digits, '_', '.', '-')");
        }
        return id;
    }

    private static int attempts(ConfigSection c) {
        int n = c.integer("max-attempts", 4);
        if (n < 1 || n > 10) {
            throw new ConfigException(PATH + ".max-attempts", "must be between 1 and 10, got " + n);
        }
        return n;
    }
}
