package dev.kiln.jobs.sqlserver;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.config.ConfigException;
import dev.kiln.lakehouse.config.ConfigSection;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code kiln.connect-server} section: where {@code kiln connect-server} (Spark Connect) listens, whether it
 * admits writes, and where its token file is (the token itself never lives in the config).
 *
 * @param bindAddress the address it listens on ({@code 127.0.0.1} unless told otherwise)
 * @param port        its gRPC port (Spark Connect's 15002 by default)
 * @param allowWrites whether DDL and writes go through (off: read-only, as the SQL server)
 * @param tokenFile   a file holding the token clients present ({@code sc://host:port/;token=...}); the
 *                    environment's {@value #TOKEN_ENV} wins
 */
public record ConnectServerSettings(String bindAddress, int port, boolean allowWrites, Optional<Path> tokenFile) {
    public static final String PATH = "kiln.connect-server";
    public static final String TOKEN_ENV = "KILN_CONNECT_TOKEN";

    public ConnectServerSettings {
        requireNonNull(bindAddress, "bindAddress is null");
        requireNonNull(tokenFile, "tokenFile is null");
        if (bindAddress.isBlank()) {
            throw new ConfigException(PATH + ".bind-address", "is blank (127.0.0.1 listens on this machine only)");
        }
        if (port < 1 || port > 65535) {
            throw new ConfigException(PATH + ".port", "must be between 1 and 65535, got " + port);
        }
    }

    /** Parses {@code kiln.connect-server} of a resolved configuration (defaults when absent); errors name the config path. */
    public static ConnectServerSettings parse(Config config) {
        requireNonNull(config, "config is null");
        ConfigSection c = ConfigSection.root(config).sectionOrEmpty(PATH);
        String file = c.string("token-file", "").trim();
        return new ConnectServerSettings(c.string("bind-address", "127.0.0.1").trim(), c.integer("port", 15002),
                c.bool("allow-writes", false), file.isEmpty() ? Optional.empty() : Optional.of(Path.of(file)));
    }

    public ConnectServerSettings withBindAddress(String address) {
        return new ConnectServerSettings(address, port, allowWrites, tokenFile);
    }

    public ConnectServerSettings withPort(int newPort) {
        return new ConnectServerSettings(bindAddress, newPort, allowWrites, tokenFile);
    }

    public ConnectServerSettings withWritesAllowed() {
        return new ConnectServerSettings(bindAddress, port, true, tokenFile);
    }

    /**
     * The token every client must present: {@value #TOKEN_ENV}, else the first line of the token file. Throws naming
     * both ways when neither gives one.
     */
    public String token(Map<String, String> env) {
        String fromEnv = env.getOrDefault(TOKEN_ENV, "").trim();
        if (!fromEnv.isEmpty()) {
            return fromEnv;
        }
        if (tokenFile.isEmpty()) {
            throw new KilnException("no Spark Connect token: set " + TOKEN_ENV + ", or point " + PATH
                    + ".token-file at a file that holds it (clients connect with sc://<host>:<port>/;token=<token>)");
        }
        try {
            String token = Files.readString(tokenFile.get(), StandardCharsets.UTF_8).lines().findFirst().orElse("").trim();
            if (token.isEmpty()) {
                throw new KilnException("the Spark Connect token file " + tokenFile.get() + " (" + PATH + ".token-file) is empty");
            }
            return token;
        } catch (IOException e) {
            throw new KilnException("cannot read the Spark Connect token file " + tokenFile.get() + " (" + PATH
                    + ".token-file): " + e.getMessage(), e);
        }
    }

    /** The address a client connects to, without the token: {@code sc://host:port}. */
    public String url() {
        String host = bindAddress.equals("0.0.0.0") || bindAddress.equals("::") || bindAddress.equals("127.0.0.1")
                ? "localhost" : bindAddress;
        return "sc://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
