package dev.kiln.lakehouse;

import com.typesafe.config.ConfigFactory;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.SparkSessions;
import dev.kiln.lakehouse.config.KilnConfig;
import dev.kiln.lakehouse.config.LakehouseSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * The one lakehouse (and SparkSession: local[2], 2 shuffle partitions, UI off, no code generation, the session's
 * own catalog instead of a metastore) that all Spark tests of a JVM share, rooted in a fresh temporary directory.
 * Tests use distinct dataset and table names.
 */
public final class TestLakehouse {
    private static Lakehouse lakehouse;

    private TestLakehouse() {}

    public static synchronized Lakehouse get() {
        if (lakehouse == null) {
            Path root = tempDir("kiln-test-lakehouse");
            Map<String, String> conf = new java.util.HashMap<>(Map.of("spark.sql.shuffle.partitions", "2",
                            "spark.default.parallelism", "2",
                            "spark.ui.enabled", "false",
                            "spark.ui.showConsoleProgress", "false",
                            "spark.sql.session.timeZone", "UTC",
                            // Delta rebuilds a table's state with 50 tasks by default: most of a small test's time.
                            "spark.databricks.delta.snapshotPartitions", "1",
                            "spark.sql.sources.parallelPartitionDiscovery.parallelism", "2",
                            // Tiny data: Spark's interpreted operators and expressions instead of generated code. A test
                            // JVM spends half its CPU compiling (Janino, then the JIT on each query's new classes);
                            // KilnApiTest: 25% less wall and CPU time (measured in pairs). The integration tests and
                            // the demo keep code generation, as users run it.
                            "spark.sql.codegen.wholeStage", "false",
                            "spark.sql.codegen.factoryMode", "NO_CODEGEN"));
            // No metastore: tables registered in the session's own catalog (SparkSessions.open), so no Derby and no
            // Hive client in a test JVM (MaterializerTest: ~0.87x the CPU and time, measured in alternating runs).
            // The Hive metastore paths, embedded and shared, are what the integration tests run; a module's
            // tests can ask for them with -Dkiln.test.catalog=hive.
            conf.put("spark.sql.catalogImplementation", System.getProperty("kiln.test.catalog", "in-memory"));
            // A module's tests may cap what tasks send the driver (the scale guards: nothing proportional to the data).
            String maxResultSize = System.getProperty("kiln.test.driverMaxResultSize");
            if (maxResultSize != null && !maxResultSize.isBlank()) {
                conf.put("spark.driver.maxResultSize", maxResultSize);
            }
            LakehouseSettings settings = new LakehouseSettings(root.toUri().toString(),
                    LakehouseSettings.CatalogType.EMBEDDED, Optional.empty(), "local[2]", "kiln-tests", Map.copyOf(conf));
            lakehouse = new Lakehouse(SparkSessions.open(settings), settings);
        }
        return lakehouse;
    }

    /** Parses a configuration snippet (datasets etc.) on top of a minimal valid {@code kiln} section. */
    public static KilnConfig config(String hocon) {
        String base = "kiln { environment = test, lakehouse { root = \"" + get().settings().root()
                + "\", catalog.type = embedded }, spark { master = \"local[2]\", app-name = kiln-tests } }\n";
        return KilnConfig.parse(ConfigFactory.parseString(base + hocon).resolve(), Map.of());
    }

    public static Path tempDir(String prefix) {
        try {
            return Files.createTempDirectory(prefix);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Path write(Path dir, String name, String content) {
        try {
            Files.createDirectories(dir);
            return Files.writeString(dir.resolve(name), content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
