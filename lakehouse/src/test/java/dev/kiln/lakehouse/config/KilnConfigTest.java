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
        assertEquals("kiln.lakehouse.catalog.type: expected 'embedded' or 'hive', got 'derby'",
                assertThrows(ConfigException.class, () -> parse(BASE.replace("type = embedded", "type = derby"))).getMessage());
        assertEquals("kiln.lakehouse.catalog.metastore-uri: required when kiln.lakehouse.catalog.type = hive"
                        + " (e.g. thrift://metastore:9083)",
                assertThrows(ConfigException.class, () -> parse(BASE.replace("type = embedded", "type = hive"))).getMessage());
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
