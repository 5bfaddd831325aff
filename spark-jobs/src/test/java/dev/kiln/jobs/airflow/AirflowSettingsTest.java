package dev.kiln.jobs.airflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.kiln.lakehouse.config.ConfigException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AirflowSettingsTest {
    private static final Path KILN_CONF = Path.of("").toAbsolutePath().getParent().resolve("conf/kiln.conf");

    @Test
    void theShippedDefaults() {
        Config c = ConfigFactory.parseFile(KILN_CONF.toFile()).resolve();
        AirflowSettings s = AirflowSettings.parse(c);
        assertEquals(URI.create(System.getenv().getOrDefault("KILN_AIRFLOW_URL", "http://localhost:8080")), s.url());
        assertEquals("kiln_retrain", s.retrainDag());
        assertEquals("kiln_flights_daily", s.dailyDag());
        assertEquals(Duration.ofSeconds(30), s.requestTimeout());
        assertEquals(4, s.maxAttempts());
    }

    @Test
    void badValuesNameTheirConfigPath() {
        ConfigException url = assertThrows(ConfigException.class,
                () -> AirflowSettings.parse(ConfigFactory.parseString("kiln.airflow.url = \"localhost:8080\"")));
        assertTrue(url.getMessage().contains("kiln.airflow.url: expected http(s)://host[:port], got 'localhost:8080'"), url.getMessage());
        ConfigException dag = assertThrows(ConfigException.class, () -> AirflowSettings.parse(ConfigFactory.parseString(
                "kiln.airflow { url = \"http://af:8080/\", retrain-dag = \"kiln retrain\" }")));
        assertTrue(dag.getMessage().contains("kiln.airflow.retrain-dag: not a DAG id: 'kiln retrain'"), dag.getMessage());
        assertEquals(URI.create("http://af:8080"),
                AirflowSettings.parse(ConfigFactory.parseString("kiln.airflow.url = \"http://af:8080/\"")).url());
    }

    @Test
    void credentialsComeFromTheEnvironmentFirstThenTheFile(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("airflow.properties");
        Files.writeString(file, "username = ops\npassword = from-file\n");
        assertEquals(new AirflowCredentials("env-user", "env-pw"), AirflowCredentials.resolve(
                Map.of("KILN_AIRFLOW_USERNAME", "env-user", "KILN_AIRFLOW_PASSWORD", "env-pw"), Optional.of(file)));
        assertEquals(new AirflowCredentials("ops", "from-file"), AirflowCredentials.resolve(Map.of(), Optional.of(file)));

        AirflowException none = assertThrows(AirflowException.class, () -> AirflowCredentials.resolve(Map.of(), Optional.empty()));
        assertTrue(none.getMessage().contains("no Airflow credentials: set KILN_AIRFLOW_USERNAME and KILN_AIRFLOW_PASSWORD"),
                none.getMessage());
        AirflowException half = assertThrows(AirflowException.class,
                () -> AirflowCredentials.resolve(Map.of("KILN_AIRFLOW_USERNAME", "ops"), Optional.of(file)));
        assertTrue(half.getMessage().contains("only one of KILN_AIRFLOW_USERNAME and KILN_AIRFLOW_PASSWORD is set"), half.getMessage());
        AirflowException missing = assertThrows(AirflowException.class,
                () -> AirflowCredentials.resolve(Map.of(), Optional.of(dir.resolve("nope.properties"))));
        assertTrue(missing.getMessage().contains("cannot read the Airflow credentials file"), missing.getMessage());
    }

    @Test
    void thePasswordIsMaskedWhenPrinted() {
        String text = new AirflowCredentials("ops", "hunter2").toString();
        assertFalse(text.contains("hunter2"), text);
        assertTrue(text.contains("ops"), text);
    }
}
