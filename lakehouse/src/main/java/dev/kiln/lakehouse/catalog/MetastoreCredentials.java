package dev.kiln.lakehouse.catalog;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.config.Credentials;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * The user and password of the metastore database ({@code catalog.type = postgres}), and the JDBC URL when
 * the credentials file names one. They come from the environment or from a credentials file, never from the
 * command line or the config itself, and are never written to {@code ops.job_runs} or logs; {@link #toString()}
 * masks the password.
 *
 * @param user     database role
 * @param password its password
 * @param url      {@code url=} of the credentials file, if it has one
 */
public record MetastoreCredentials(String user, String password, Optional<String> url) {
    public static final String USER_ENV = "KILN_METASTORE_USER";
    public static final String PASSWORD_ENV = "KILN_METASTORE_PASSWORD";

    public MetastoreCredentials {
        requireNonNull(user, "user is null");
        requireNonNull(password, "password is null");
        requireNonNull(url, "url is null");
        if (user.isBlank()) {
            throw new IllegalArgumentException("user is blank");
        }
    }

    /** Where they come from: Kiln's one way of resolving a user and password (see {@link Credentials}). */
    public static final Credentials.Source SOURCE = new Credentials.Source("metastore database", USER_ENV, PASSWORD_ENV,
            "user", "kiln.lakehouse.catalog.credentials-file");

    /**
     * {@value #USER_ENV} and {@value #PASSWORD_ENV} when both are set (the file may still supply the URL);
     * otherwise the credentials file, a properties file with {@code user=}, {@code password=} and optionally
     * {@code url=} lines (what scripts/setup-postgres.sh writes).
     */
    public static MetastoreCredentials resolve(Map<String, String> env, Optional<Path> credentialsFile) {
        Credentials c;
        try {
            c = SOURCE.resolve(env, credentialsFile);
        } catch (KilnException e) {
            if (credentialsFile.isEmpty() && env.getOrDefault(USER_ENV, "").isBlank()
                    && env.getOrDefault(PASSWORD_ENV, "").isEmpty()) {
                throw new KilnException(e.getMessage() + " (scripts/setup-postgres.sh writes one)", e);
            }
            throw e;
        }
        return new MetastoreCredentials(c.user(), c.password(), urlOf(credentialsFile));
    }

    /** The {@code url=} line of a credentials file, if the file exists and has one; reads no secret out. */
    public static Optional<String> urlOf(Optional<Path> credentialsFile) {
        requireNonNull(credentialsFile, "credentialsFile is null");
        return credentialsFile.filter(Files::isReadable).map(SOURCE::read)
                .map(p -> p.getProperty("url", "").trim()).filter(s -> !s.isEmpty());
    }

    @Override
    public String toString() {
        return "MetastoreCredentials[user=" + user + ", password=***, url=" + url.orElse("") + "]";
    }
}
