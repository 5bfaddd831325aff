package dev.kiln.lakehouse.config;

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
 * A user and password for one of the services Kiln talks to or serves (the metastore database, Airflow, the SQL
 * server), resolved the one way Kiln resolves every secret: from two environment variables when both are set,
 * else from a properties file named in the config; never from the command line or the config itself.
 * {@link #toString()} masks the password.
 *
 * @param user     the user (never blank)
 * @param password its password
 */
public record Credentials(String user, String password) {
    public Credentials {
        requireNonNull(user, "user is null");
        requireNonNull(password, "password is null");
        if (user.isBlank()) {
            throw new IllegalArgumentException("user is blank");
        }
    }

    /**
     * Where one service's credentials come from.
     *
     * @param service     what they are for, as error messages name it ("Airflow", "metastore database")
     * @param userEnv     environment variable of the user
     * @param passwordEnv environment variable of the password
     * @param userKey     the file's key for the user ({@code user} or {@code username}); the password's is {@code password}
     * @param fileSetting the config path that names the file (for error messages)
     */
    public record Source(String service, String userEnv, String passwordEnv, String userKey, String fileSetting) {
        public Source {
            requireNonNull(service, "service is null");
            requireNonNull(userEnv, "userEnv is null");
            requireNonNull(passwordEnv, "passwordEnv is null");
            requireNonNull(userKey, "userKey is null");
            requireNonNull(fileSetting, "fileSetting is null");
        }

        /**
         * {@code userEnv} and {@code passwordEnv} when both are set; otherwise the credentials file (a properties
         * file with {@code <userKey>=} and {@code password=} lines). Throws {@link KilnException} naming both ways
         * when neither gives a user and a password.
         */
        public Credentials resolve(Map<String, String> env, Optional<Path> credentialsFile) {
            requireNonNull(env, "env is null");
            requireNonNull(credentialsFile, "credentialsFile is null");
            String user = env.getOrDefault(userEnv, "");
            String password = env.getOrDefault(passwordEnv, "");
            if (!user.isBlank() && !password.isEmpty()) {
                return new Credentials(user, password);
            }
            if (!user.isBlank() || !password.isEmpty()) {
                throw new KilnException("only one of " + userEnv + " and " + passwordEnv + " is set: set both, or neither"
                        + " to use " + fileSetting);
            }
            if (credentialsFile.isEmpty()) {
                throw new KilnException("no " + service + " credentials: set " + userEnv + " and " + passwordEnv
                        + ", or point " + fileSetting + " at a file with " + userKey + "= and password= lines");
            }
            Properties p = read(credentialsFile.get());
            String fileUser = p.getProperty(userKey, "").trim();
            String filePassword = p.getProperty("password", "");
            if (fileUser.isEmpty() || filePassword.isEmpty()) {
                throw new KilnException("the " + service + " credentials file " + credentialsFile.get() + " needs both a "
                        + userKey + "= and a password= line");
            }
            return new Credentials(fileUser, filePassword);
        }

        /** The credentials file as properties (for services whose file carries more, such as a URL). */
        public Properties read(Path file) {
            requireNonNull(file, "file is null");
            Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                p.load(r);
            } catch (IOException e) {
                throw new KilnException("cannot read the " + service + " credentials file " + file + " (" + fileSetting
                        + "): " + e.getMessage(), e);
            }
            return p;
        }
    }

    @Override
    public String toString() {
        return "Credentials[user=" + user + ", password=***]";
    }
}
