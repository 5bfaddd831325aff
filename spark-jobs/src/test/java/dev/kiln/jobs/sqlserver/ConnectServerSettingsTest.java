package dev.kiln.jobs.sqlserver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** kiln.connect-server: defaults, overrides, where the token comes from, and the address a client uses. */
class ConnectServerSettingsTest {
    @Test
    void defaultsListenOnThisMachineOnlyAndReadOnly() {
        ConnectServerSettings s = ConnectServerSettings.parse(ConfigFactory.empty());
        assertEquals("127.0.0.1", s.bindAddress());
        assertEquals(15002, s.port());
        assertTrue(!s.allowWrites());
        assertEquals("sc://localhost:15002", s.url());
        assertEquals("sc://localhost:9", s.withPort(9).url());
        assertEquals("sc://10.0.0.5:15002", s.withBindAddress("10.0.0.5").url());
    }

    @Test
    void theTokenComesFromTheEnvironmentElseTheFile(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("token"), "from-file\nsecond line ignored\n");
        ConnectServerSettings s = ConnectServerSettings.parse(ConfigFactory.parseMap(Map.of("kiln.connect-server.token-file",
                file.toString())));
        assertEquals("from-env", s.token(Map.of(ConnectServerSettings.TOKEN_ENV, "from-env")));
        assertEquals("from-file", s.token(Map.of()));
        KilnException none = assertThrows(KilnException.class, () -> ConnectServerSettings.parse(ConfigFactory.empty()).token(Map.of()));
        assertTrue(none.getMessage().startsWith("no Spark Connect token: set KILN_CONNECT_TOKEN, or point"
                + " kiln.connect-server.token-file at a file"), none.getMessage());
        Files.writeString(file, "\n");
        KilnException empty = assertThrows(KilnException.class, () -> s.token(Map.of()));
        assertTrue(empty.getMessage().contains("is empty"), empty.getMessage());
    }

    @Test
    void aBadPortNamesTheSetting() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConnectServerSettings.parse(
                ConfigFactory.parseMap(Map.of("kiln.connect-server.port", 70000))));
        assertTrue(e.getMessage().contains("kiln.connect-server.port"), e.getMessage());
    }
}
