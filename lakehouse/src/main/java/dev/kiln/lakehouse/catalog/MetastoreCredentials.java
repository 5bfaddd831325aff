package dev.kiln.lakehouse.catalog;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.KilnException;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

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

    /**
     * {@value #USER_ENV} and {@value #PASSWORD_ENV} when both are set (the file may still supply the URL);
     * otherwise the credentials file, a properties file with {@code user=}, {@code password=} and optionally
     * {@code url=} lines (what scripts/setup-postgres.sh writes).
     */
    public static MetastoreCredentials resolve(Map<String, String> env, Optional<Path> credentialsFile) {
        requireNonNull(env, "env is null");
        requireNonNull(credentialsFile, "credentialsFile is null");
        String user = env.getOrDefault(USER_ENV, "");
        String password = env.getOrDefault(PASSWORD_ENV, "");
        if (!user.isBlank() && !password.isEmpty()) {
            Optional<String> url = credentialsFile.filter(Files::isReadable).flatMap(f -> fromFile(f, false).url());
            return new MetastoreCredentials(user, password, url);
        }
        if (!user.isBlank() || !password.isEmpty()) {
            throw new KilnException("only one of " + USER_ENV + " and " + PASSWORD_ENV + " is set: set both, or"
                    + " neither to use kiln.lakehouse.catalog.credentials-file");
        }
        if (credentialsFile.isEmpty()) {
            throw new KilnException("no metastore database credentials: set " + USER_ENV + " and " + PASSWORD_ENV
                    + ", or point kiln.lakehouse.catalog.credentials-file at a file with user= and password= lines"
                    + " (scripts/setup-postgres.sh writes one)");
        }
        return fromFile(credentialsFile.get(), true);
    }

    /** The {@code url=} line of a credentials file, if the file exists and has one; reads no secret out. */
    public static Optional<String> urlOf(Optional<Path> credentialsFile) {
        requireNonNull(credentialsFile, "credentialsFile is null");
        return credentialsFile.filter(Files::isReadable).flatMap(f -> fromFile(f, false).url());
    }

    private static MetastoreCredentials fromFile(Path file, boolean needSecrets) {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException e) {
            throw new KilnException("cannot read the metastore credentials file " + file
                    + " (kiln.lakehouse.catalog.credentials-file): " + e.getMessage(), e);
        }
        String user = p.getProperty("user", "").trim();
        String password = p.getProperty("password", "");
        Optional<String> url = Optional.of(p.getProperty("url", "").trim()).filter(s -> !s.isEmpty());
        if (needSecrets && (user.isEmpty() || password.isEmpty())) {
            throw new KilnException("the metastore credentials file " + file + " needs both a user= and a password= line");
        }
        return new MetastoreCredentials(user.isEmpty() ? "-" : user, password, url);
    }

    @Override
    public String toString() {
        return "MetastoreCredentials[user=" + user + ", password=***, url=" + url.orElse("") + "]";
    }
}
