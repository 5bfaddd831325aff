package dev.kiln.jobs.sqlserver;

import dev.kiln.lakehouse.config.Credentials;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Optional;
import javax.security.sasl.AuthenticationException;
import org.apache.hive.service.auth.PasswdAuthenticationProvider;

/**
 * HiveServer2's CUSTOM authentication for {@code kiln sql-server}: admits the one user and password of
 * {@link SqlServerSettings#CREDENTIALS} (environment, else the credentials file whose path the system property
 * {@value #CREDENTIALS_FILE_PROPERTY} names; never the secret itself). HiveServer2 makes an instance per login
 * (from a fresh HiveConf, so the server passes its settings as system properties), which reads the credentials
 * then: a changed file applies to the next login. The password is compared in constant time and never logged.
 */
public final class SqlServerAuthenticator implements PasswdAuthenticationProvider {
    /** System property with the credentials file's path (a path, not a secret). */
    public static final String CREDENTIALS_FILE_PROPERTY = "kiln.sql-server.credentials-file";
    private final Credentials credentials;

    public SqlServerAuthenticator() {
        String file = System.getProperty(CREDENTIALS_FILE_PROPERTY, "").trim();
        this.credentials = SqlServerSettings.CREDENTIALS.resolve(System.getenv(),
                file.isEmpty() ? Optional.empty() : Optional.of(Path.of(file)));
    }

    @Override
    public void Authenticate(String user, String password) throws AuthenticationException {
        boolean userOk = MessageDigest.isEqual(bytes(user), bytes(credentials.user()));
        boolean passwordOk = MessageDigest.isEqual(bytes(password), bytes(credentials.password()));
        if (!userOk || !passwordOk) {
            throw new AuthenticationException("wrong user or password for the Kiln SQL server");
        }
    }

    private static byte[] bytes(String s) {
        return (s == null ? "" : s).getBytes(StandardCharsets.UTF_8);
    }
}
