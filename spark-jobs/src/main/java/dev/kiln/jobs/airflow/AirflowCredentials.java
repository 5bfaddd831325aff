package dev.kiln.jobs.airflow;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

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

    /**
     * {@value #USERNAME_ENV} and {@value #PASSWORD_ENV} when both are set; otherwise the credentials file
     * (a properties file with {@code username=} and {@code password=}), when one is configured.
     */
    public static AirflowCredentials resolve(Map<String, String> env, Optional<Path> credentialsFile) {
        requireNonNull(env, "env is null");
        requireNonNull(credentialsFile, "credentialsFile is null");
        String user = env.getOrDefault(USERNAME_ENV, "");
        String password = env.getOrDefault(PASSWORD_ENV, "");
        if (!user.isBlank() && !password.isEmpty()) {
            return new AirflowCredentials(user, password);
        }
        if (!user.isBlank() || !password.isEmpty()) {
            throw new AirflowException("only one of " + USERNAME_ENV + " and " + PASSWORD_ENV + " is set: set both,"
                    + " or neither to use kiln.airflow.credentials-file");
        }
        if (credentialsFile.isEmpty()) {
            throw new AirflowException("no Airflow credentials: set " + USERNAME_ENV + " and " + PASSWORD_ENV
                    + ", or point kiln.airflow.credentials-file at a file with username= and password= lines");
        }
        return fromFile(credentialsFile.get());
    }

    static AirflowCredentials fromFile(Path file) {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException e) {
            throw new AirflowException("cannot read the Airflow credentials file " + file + " (kiln.airflow.credentials-file): "
                    + e.getMessage(), e);
        }
        String user = p.getProperty("username", "").trim();
        String password = p.getProperty("password", "");
        if (user.isEmpty() || password.isEmpty()) {
            throw new AirflowException("the Airflow credentials file " + file + " needs both a username= and a password= line");
        }
        return new AirflowCredentials(user, password);
    }

    @Override
    public String toString() {
        return "AirflowCredentials[username=" + username + ", password=***]";
    }
}
