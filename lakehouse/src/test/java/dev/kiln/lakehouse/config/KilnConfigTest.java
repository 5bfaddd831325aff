package dev.kiln.lakehouse.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.kiln.lakehouse.ingest.DatasetSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KilnConfigTest {
    private static final String BASE = "kiln { lakehouse { root = \"/tmp/lake\", catalog.type = embedded },"
            + " spark { master = \"local[2]\", app-name = kiln, conf { \"spark.sql.shuffle.partitions\" = 8 } } }\n";
    private static final String FLIGHTS = "datasets.flights { source { format = parquet, path = \"/data/f.parquet\" }\n"
            + " schema = [ { name = date, type = timestamp, nullable = false }, { name = delay, type = int } ]\n"
            + " event-time = date\n derived = [ { name = flight_date, expr = \"to_date(date)\" } ]\n"
            + " partition-by = [%s]\n}\n";

    private static KilnConfig parse(String hocon) {
        return KilnConfig.parse(ConfigFactory.parseString(hocon).resolve(), Map.of());
    }

    @Test
    void parsesADatasetIntoItsTypedSpec() {
        DatasetSpec spec = parse(BASE + FLIGHTS.formatted("flight_date")).dataset("flights");
        assertEquals("raw.flights", spec.tableName().toString());
        assertEquals(List.of("flight_date"), spec.partitionBy());
        assertEquals("timestamp", spec.columns().get(0).type().simpleString());
        assertEquals(DatasetSpec.WriteMode.APPEND, spec.writeMode());
    }

    @Test
    void anUnknownPartitionColumnNamesItsConfigPath() {
        ConfigException e = assertThrows(ConfigException.class, () -> parse(BASE + FLIGHTS.formatted("flightdate")));
        assertEquals("datasets.flights.partition-by[0]: unknown column 'flightdate' (known: date, delay, flight_date)",
                e.getMessage());
    }

    @Test
    void invalidValuesFailFastWithPathAndExpectation() {
        assertEquals("datasets.flights.schema[1].type: unknown type 'integr' (Spark SQL types: int, bigint, double,"
                        + " decimal(10,2), string, boolean, date, timestamp, ...)",
                assertThrows(ConfigException.class,
                        () -> parse(BASE + FLIGHTS.formatted("flight_date").replace("type = int", "type = integr"))).getMessage());
        assertEquals("datasets.flights.keys: write-mode = merge needs key columns to upsert on",
                assertThrows(ConfigException.class, () -> parse(BASE
                        + FLIGHTS.formatted("flight_date").replace("event-time", "write-mode = merge\n event-time"))).getMessage());
        assertEquals("kiln.lakehouse.catalog.type: expected 'embedded', 'postgres' or 'hive', got 'derby'",
                assertThrows(ConfigException.class, () -> parse(BASE.replace("type = embedded", "type = derby"))).getMessage());
        assertEquals("kiln.lakehouse.catalog.metastore-uri: required when kiln.lakehouse.catalog.type = hive"
                        + " (e.g. thrift://metastore:9083)",
                assertThrows(ConfigException.class, () -> parse(BASE.replace("type = embedded", "type = hive"))).getMessage());
    }

    @Test
    void aPostgresCatalogNeedsADatabaseUrlAndNeverTakesCredentialsFromTheConfig() {
        String postgres = BASE.replace("catalog.type = embedded", "catalog { type = postgres, jdbc-url = \"%s\" }");
        LakehouseSettings s = parse(postgres.formatted("jdbc:postgresql://db:5432/kiln")).lakehouse();
        assertEquals(LakehouseSettings.CatalogType.POSTGRES, s.catalog());
        assertEquals(java.util.Optional.of("jdbc:postgresql://db:5432/kiln"), s.jdbcUrl());
        assertEquals("jdbc:postgresql://db:5432/kiln",
                dev.kiln.lakehouse.catalog.SparkSessions.catalogConf(s).get("spark.hadoop.javax.jdo.option.ConnectionURL"));
        assertTrue(dev.kiln.lakehouse.catalog.SparkSessions.catalogConf(s).keySet().stream()
                .noneMatch(k -> k.contains("Password") || k.contains("UserName")), "catalog-conf prints no credentials");
        assertEquals("kiln.lakehouse.catalog.jdbc-url: required when kiln.lakehouse.catalog.type = postgres"
                        + " (e.g. jdbc:postgresql://localhost:5432/kiln), unless the credentials-file has a url= line",
                assertThrows(ConfigException.class, () -> parse(postgres.formatted(""))).getMessage());
        assertEquals("kiln.lakehouse.catalog.jdbc-url: expected a jdbc:postgresql:// URL, got 'jdbc:mysql://db/kiln'",
                assertThrows(ConfigException.class, () -> parse(postgres.formatted("jdbc:mysql://db/kiln"))).getMessage());
    }

    @Test
    void metastoreCredentialsComeFromTheEnvironmentOrAFile() throws Exception {
        Path file = Files.createTempFile("kiln-metastore", ".properties");
        Files.writeString(file, "user=kiln\npassword=s3cret\nurl=jdbc:postgresql://127.0.0.1:5432/kiln\n");
        var fromFile = dev.kiln.lakehouse.catalog.MetastoreCredentials.resolve(Map.of(), java.util.Optional.of(file));
        assertEquals("kiln", fromFile.user());
        assertEquals("s3cret", fromFile.password());
        assertEquals(java.util.Optional.of("jdbc:postgresql://127.0.0.1:5432/kiln"), fromFile.url());
        assertTrue(!fromFile.toString().contains("s3cret"), fromFile.toString());
        var fromEnv = dev.kiln.lakehouse.catalog.MetastoreCredentials.resolve(
                Map.of("KILN_METASTORE_USER", "ops", "KILN_METASTORE_PASSWORD", "pw"), java.util.Optional.of(file));
        assertEquals("ops", fromEnv.user());
        assertEquals("pw", fromEnv.password());
        assertEquals(fromFile.url(), fromEnv.url());
        assertTrue(assertThrows(dev.kiln.lakehouse.KilnException.class, () -> dev.kiln.lakehouse.catalog.MetastoreCredentials
                .resolve(Map.of(), java.util.Optional.empty())).getMessage().startsWith("no metastore database credentials: set"
                        + " KILN_METASTORE_USER and KILN_METASTORE_PASSWORD"));
        assertTrue(assertThrows(dev.kiln.lakehouse.KilnException.class, () -> dev.kiln.lakehouse.catalog.MetastoreCredentials
                .resolve(Map.of("KILN_METASTORE_USER", "ops"), java.util.Optional.of(file))).getMessage()
                .startsWith("only one of KILN_METASTORE_USER and KILN_METASTORE_PASSWORD is set"));
    }

    @Test
    void loaderLayersOverlayPipelinesAndCommandLineOverrides() throws Exception {
        Path dir = Files.createTempDirectory("kiln-conf");
        Files.writeString(dir.resolve("kiln.conf"), BASE + "kiln.environment = local\nkiln.lakehouse.root = ./lake-default\n");
        Files.writeString(dir.resolve("local.conf"), "kiln.spark.master = \"local[1]\"\n");
        Files.createDirectories(dir.resolve("pipelines"));
        Files.writeString(dir.resolve("pipelines/flights.conf"), FLIGHTS.formatted("flight_date"));
        KilnConfigLoader loader = new KilnConfigLoader(dir);

        KilnConfig c = loader.load(null, KilnConfigLoader.parseOverrides(List.of(
                "kiln.lakehouse.root=hdfs://nn:8020/lake", "spark.sql.shuffle.partitions=64",
                "datasets.flights.partition-by=[date]")));
        assertEquals("hdfs://nn:8020/lake", c.lakehouse().root());
        assertEquals("local[1]", c.lakehouse().sparkMaster());
        assertEquals("64", c.lakehouse().sparkConf().get("spark.sql.shuffle.partitions"));
        assertEquals(List.of("date"), c.dataset("flights").partitionBy());

        KilnConfig defaults = loader.load(null, Map.of());
        assertTrue(defaults.lakehouse().root().startsWith("file:/"), defaults.lakehouse().root());
        assertTrue(defaults.lakehouse().root().endsWith("/lake-default"), defaults.lakehouse().root());
        assertEquals("8", defaults.lakehouse().sparkConf().get("spark.sql.shuffle.partitions"));
        assertEquals("kiln.environment: no overlay " + dir.resolve("cluster.conf") + " for environment 'cluster'",
                assertThrows(ConfigException.class, () -> loader.load("cluster", Map.of())).getMessage());
    }
}
