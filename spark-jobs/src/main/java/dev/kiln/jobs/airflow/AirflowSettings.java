package dev.kiln.jobs.airflow;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import dev.kiln.lakehouse.config.ConfigException;
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
        if (!config.hasPath(PATH)) {
            throw new ConfigException(PATH, "missing: add a kiln.airflow { url = \"http://localhost:8080\" } section to kiln.conf");
        }
        Config c = config.getConfig(PATH);
        URI url = parseUrl(c.getString("url"));
        String file = c.hasPath("credentials-file") ? c.getString("credentials-file").trim() : "";
        return new AirflowSettings(url, file.isEmpty() ? Optional.empty() : Optional.of(Path.of(file)),
                dagId(c, "daily-dag", "kiln_flights_daily"), dagId(c, "retrain-dag", "kiln_retrain"),
                c.hasPath("request-timeout") ? c.getDuration("request-timeout") : Duration.ofSeconds(30),
                attempts(c));
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

    private static String dagId(Config c, String key, String fallback) {
        String id = c.hasPath(key) ? c.getString(key) : fallback;
        if (!id.matches("[A-Za-z0-9_.-]+")) {
            throw new ConfigException(PATH + "." + key, "not a DAG id: '" + id + "' (letters, digits, '_', '.', '-')");
        }
        return id;
    }

    private static int attempts(Config c) {
        int n = c.hasPath("max-attempts") ? c.getInt("max-attempts") : 4;
        if (n < 1 || n > 10) {
            throw new ConfigException(PATH + ".max-attempts", "must be between 1 and 10, got " + n);
        }
        return n;
    }
}
