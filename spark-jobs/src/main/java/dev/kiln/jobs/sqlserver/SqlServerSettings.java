package dev.kiln.jobs.sqlserver;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import dev.kiln.lakehouse.config.ConfigException;
import dev.kiln.lakehouse.config.ConfigSection;
import dev.kiln.lakehouse.config.Credentials;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The {@code kiln.sql-server} section: where {@code kiln sql-server} listens, whether it admits writes, and where
 * its credentials file is (the user and password themselves never live in the config).
 *
 * @param bindAddress     the address it listens on ({@code 127.0.0.1} unless told otherwise)
 * @param port            its HiveServer2 (binary Thrift) port
 * @param allowWrites     whether DDL and writes go through (off: read-only)
 * @param credentialsFile properties file with {@code user=} and {@code password=}; the environment's
 *                        {@value #USER_ENV}/{@value #PASSWORD_ENV} win
 */
public record SqlServerSettings(String bindAddress, int port, boolean allowWrites, Optional<Path> credentialsFile) {
    public static final String PATH = "kiln.sql-server";
    public static final String USER_ENV = "KILN_SQL_USER";
    public static final String PASSWORD_ENV = "KILN_SQL_PASSWORD";
    /** Where the one user and password the server admits come from (Kiln's one way, see {@link Credentials}). */
    public static final Credentials.Source CREDENTIALS = new Credentials.Source("SQL server", USER_ENV, PASSWORD_ENV,
            "user", PATH + ".credentials-file");

    public SqlServerSettings {
        requireNonNull(bindAddress, "bindAddress is null");
        requireNonNull(credentialsFile, "credentialsFile is null");
        if (bindAddress.isBlank()) {
            throw new ConfigException(PATH + ".bind-address", "is blank (127.0.0.1 listens on this machine only)");
        }
        if (port < 1 || port > 65535) {
            throw new ConfigException(PATH + ".port", "must be between 1 and 65535, got " + port);
        }
    }

    /** Parses {@code kiln.sql-server} of a resolved configuration (defaults when absent); errors name the config path. */
    public static SqlServerSettings parse(Config config) {
        requireNonNull(config, "config is null");
        ConfigSection c = ConfigSection.root(config).sectionOrEmpty(PATH);
        String file = c.string("credentials-file", "").trim();
        return new SqlServerSettings(c.string("bind-address", "127.0.0.1").trim(), c.integer("port", 10000),
                c.bool("allow-writes", false), file.isEmpty() ? Optional.empty() : Optional.of(Path.of(file)));
    }

    public SqlServerSettings withBindAddress(String address) {
        return new SqlServerSettings(address, port, allowWrites, credentialsFile);
    }

    public SqlServerSettings withPort(int newPort) {
        return new SqlServerSettings(bindAddress, newPort, allowWrites, credentialsFile);
    }

    public SqlServerSettings withWritesAllowed() {
        return new SqlServerSettings(bindAddress, port, true, credentialsFile);
    }

    /** The URL a JDBC client or {@code beeline -u} connects to. */
    public String jdbcUrl() {
        String host = bindAddress.equals("0.0.0.0") || bindAddress.equals("::") ? "localhost" : bindAddress;
        return "jdbc:hive2://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port + "/default";
    }
}
