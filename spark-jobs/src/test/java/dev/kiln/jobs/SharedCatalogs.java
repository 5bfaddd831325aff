package dev.kiln.jobs;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * PostgreSQL databases for the integration tests' shared catalogs: scripts/setup-postgres.sh installs and starts
 * PostgreSQL where needed and makes a database of the test's own (so tests and agents running at the same time
 * never share a metastore); the test drops it when done.
 */
final class SharedCatalogs {
    private SharedCatalogs() {}

    /** Creates (once) database {@code name} and returns its credentials file (user=, password=, url=). */
    static Path database(Path repo, String name) throws Exception {
        Path out = Files.createTempFile("kiln-setup-postgres", ".out");
        Process p = new ProcessBuilder(repo.resolve("scripts/setup-postgres.sh").toString(), name)
                .redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        if (!p.waitFor(600, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("scripts/setup-postgres.sh " + name + " timed out");
        }
        if (p.exitValue() != 0) {
            throw new AssertionError("scripts/setup-postgres.sh " + name + " failed (exit " + p.exitValue() + ")");
        }
        String file = Files.readString(out, StandardCharsets.UTF_8).trim();
        Files.delete(out);
        return Path.of(file.lines().reduce((a, b) -> b).orElseThrow());
    }

    /** Drops database {@code name} (its owner connects to the {@code postgres} database for that). */
    static void dropDatabase(String name) throws Exception {
        Path file = Path.of(System.getProperty("user.home"), ".cache/kiln/postgres", name + ".properties");
        if (!Files.exists(file)) {
            return;
        }
        Properties p = new Properties();
        try (var r = Files.newBufferedReader(file)) {
            p.load(r);
        }
        String url = p.getProperty("url").replaceAll("/[^/]+$", "/postgres");
        try (Connection c = DriverManager.getConnection(url, p.getProperty("user"), p.getProperty("password"));
                Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
        }
        Files.delete(file);
    }
}
