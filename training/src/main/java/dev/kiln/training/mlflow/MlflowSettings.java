package dev.kiln.training.mlflow;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import dev.kiln.lakehouse.config.ConfigException;
import dev.kiln.lakehouse.config.ConfigSection;
import dev.kiln.lakehouse.config.Credentials;
import java.net.URI;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The {@code kiln.mlflow} section: where Kiln mirrors its models, runs and aliases (off unless {@code enabled}, which
 * needs a tracking URI; while off nothing connects, whatever the URI says). The login never lives in the config: {@value #TOKEN_ENV} (a bearer token), or {@value #USER_ENV} and
 * {@value #PASSWORD_ENV}, or the credentials file ({@code user=}, {@code password=}); none: no login (a local server).
 *
 * @param enabled         whether the mirror is on
 * @param trackingUri     the tracking server ({@code http://host:port})
 * @param experiment      the MLflow experiment Kiln's runs go to
 * @param timeoutSeconds  per request
 * @param credentialsFile the credentials file, if any
 */
public record MlflowSettings(boolean enabled, Optional<URI> trackingUri, String experiment, int timeoutSeconds, Optional<Path> credentialsFile) {
    public static final String PATH = "kiln.mlflow";
    public static final String TOKEN_ENV = "MLFLOW_TRACKING_TOKEN";
    public static final String USER_ENV = "MLFLOW_TRACKING_USERNAME";
    public static final String PASSWORD_ENV = "MLFLOW_TRACKING_PASSWORD";
    public static final Credentials.Source CREDENTIALS = new Credentials.Source("MLflow", USER_ENV, PASSWORD_ENV, "user",
            PATH + ".credentials-file");
    public static final MlflowSettings OFF = new MlflowSettings(false, Optional.empty(), "kiln", 10, Optional.empty());

    public MlflowSettings {
        requireNonNull(trackingUri, "trackingUri is null");
        requireNonNull(experiment, "experiment is null");
        requireNonNull(credentialsFile, "credentialsFile is null");
        if (experiment.isBlank()) {
            throw new ConfigException(PATH + ".experiment", "is blank");
        }
        if (enabled && trackingUri.isEmpty()) {
            throw new ConfigException(PATH + ".tracking-uri", "is empty while " + PATH + ".enabled = true: name the MLflow"
                    + " tracking server (http://host:5000)");
        }
        if (timeoutSeconds < 1) {
            throw new ConfigException(PATH + ".timeout-seconds", "must be 1 or more, got " + timeoutSeconds);
        }
    }

    /** Parses {@code kiln.mlflow} (defaults when absent: off); errors name the config path. */
    public static MlflowSettings parse(Config config) {
        ConfigSection c = ConfigSection.root(config).sectionOrEmpty(PATH);
        String uri = c.string("tracking-uri", "").trim();
        Optional<URI> tracking = Optional.empty();
        if (!uri.isEmpty()) {
            URI parsed;
            try {
                parsed = URI.create(uri.endsWith("/") ? uri.substring(0, uri.length() - 1) : uri);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(PATH + ".tracking-uri", "is not a URI: " + uri);
            }
            if (!"http".equals(parsed.getScheme()) && !"https".equals(parsed.getScheme())) {
                throw new ConfigException(PATH + ".tracking-uri", "must be an http(s) URL of an MLflow tracking server, got " + uri);
            }
            tracking = Optional.of(parsed);
        }
        String file = c.string("credentials-file", "").trim();
        return new MlflowSettings(c.bool("enabled", false), tracking, c.string("experiment", "kiln").trim(), c.integer("timeout-seconds", 10),
                file.isEmpty() ? Optional.empty() : Optional.of(Path.of(file)));
    }

}
