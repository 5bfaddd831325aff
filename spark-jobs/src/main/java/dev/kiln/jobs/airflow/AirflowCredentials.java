package dev.kiln.jobs.airflow;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.config.Credentials;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * A username and password for Airflow's token endpoint. They come from the environment or from a
 * credentials file, never from the command line or the config itself; {@link #toString()} masks the password.
 */
public record AirflowCredentials(String username, String password) {
    public static final String USERNAME_ENV = "KILN_AIRFLOW_USERNAME";
    public static final String PASSWORD_ENV = "KILN_AIRFLOW_PASSWORD";

    public AirflowCredentials {
        requireNonNull(username, "username is null");
        requireNonNull(password, "password is null");
        if (username.isBlank()) {
            throw new IllegalArgumentException("username is blank");
        }
    }

    /** Where they come from: Kiln's one way of resolving a user and password (see {@link Credentials}). */
    public static final Credentials.Source SOURCE = new Credentials.Source("Airflow", USERNAME_ENV, PASSWORD_ENV,
            "username", "kiln.airflow.credentials-file");

    /**
     * {@value #USERNAME_ENV} and {@value #PASSWORD_ENV} when both are set; otherwise the credentials file
     * (a properties file with {@code username=} and {@code password=}), when one is configured.
     */
    public static AirflowCredentials resolve(Map<String, String> env, Optional<Path> credentialsFile) {
        try {
            Credentials c = SOURCE.resolve(env, credentialsFile);
            return new AirflowCredentials(c.user(), c.password());
        } catch (AirflowException e) {
            throw e;
        } catch (KilnException e) {
            throw new AirflowException(e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "AirflowCredentials[username=" + username + ", password=***]";
    }
}
