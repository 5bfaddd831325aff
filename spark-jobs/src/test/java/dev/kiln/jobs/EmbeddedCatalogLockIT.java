package dev.kiln.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The embedded default admits one process: while a long job holds it, {@code kiln sql} and a second job (separate
 * JVMs, as bin/kiln starts them) stop within 10 s, exit 1, and say in one line who holds the catalog and which
 * setting shares it, instead of Derby's XSDB6 errors and Hive's connection retries until the first one ends.
 */
class EmbeddedCatalogLockIT {
    private record Run(Process process, Path out, Path err, long startedNanos) {}

    private static Run start(Path work, Path confDir, Path root, String name, String... kiln) throws Exception {
        List<String> cmd = ShortJvm.kilnMain(Path.of("").toAbsolutePath().getParent());
        cmd.addAll(List.of("--conf-dir", confDir.toString(), "--conf", "kiln.lakehouse.root=" + root, "--conf", "kiln.spark.master=local[1]",
                "--conf", "spark.sql.shuffle.partitions=2", "--conf", "spark.ui.showConsoleProgress=false"));
        cmd.addAll(ShortJvm.interpretedConf());
        cmd.addAll(List.of(kiln));
        Path out = work.resolve(name + ".out");
        Path err = work.resolve(name + ".err");
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        return new Run(p, out, err, t0);
    }

    @Test
    void aSecondProcessStopsAtOnceAndNamesTheHolder() throws Exception {
        Path repo = Path.of("").toAbsolutePath().getParent();
        Path work = Files.createTempDirectory("kiln-embedded-lock-it");
        Path root = work.resolve("lake");
        Path confDir = Files.createDirectories(work.resolve("conf/pipelines"));
        Files.copy(repo.resolve("conf/kiln.conf"), confDir.resolve("../kiln.conf"));
        Files.copy(repo.resolve("conf/local.conf"), confDir.resolve("../local.conf"));
        StringBuilder csv = new StringBuilder("id,ts,amount\n");
        for (int i = 0; i < 5000; i++) {
            csv.append(i).append(",2024-03-").append(String.format("%02d", 1 + i % 28)).append(" 10:00:00,").append(i % 97).append('\n');
        }
        Files.writeString(work.resolve("sales.csv"), csv);
        Files.writeString(confDir.resolve("sales.conf"), """
                datasets.sales {
                  source { format = csv, path = "%1$s" }
                  schema = [ { name = id, type = int, nullable = false }, { name = ts, type = timestamp }, { name = amount, type = double } ]
                  event-time = ts
                  derived = [ { name = sale_date, expr = "to_date(ts)" } ]
                  partition-by = [sale_date]
                }
                datasets.sales_copy = ${datasets.sales}
                """.formatted(work.resolve("sales.csv")));
        Path conf = confDir.getParent();

        Run holder = start(work, conf, root, "holder", "ingest", "sales");
        Path lockFile = root.resolve("_metastore.lock");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!(Files.exists(lockFile) && Files.readString(lockFile).contains("pid " + holder.process().pid() + " "))) {
            assertTrue(holder.process().isAlive(), "the holder ended early:\n" + Files.readString(holder.err()));
            assertTrue(System.nanoTime() < deadline, "no lock file naming the holder after 120 s");
            Thread.sleep(200);
        }

        List<Run> others = List.of(start(work, conf, root, "sql", "sql", "SELECT count(*) FROM raw.sales"),
                start(work, conf, root, "second", "ingest", "sales_copy"));
        for (Run r : others) {
            assertTrue(r.process().waitFor(30, TimeUnit.SECONDS), "still running after 30 s");
            double seconds = (System.nanoTime() - r.startedNanos()) / 1e9;
            String err = Files.readString(r.err(), StandardCharsets.UTF_8);
            System.out.printf("refused after %.1f s (exit %d):%n%s%s%n", seconds, r.process().exitValue(),
                    Files.readString(r.out(), StandardCharsets.UTF_8), err);
            assertEquals(1, r.process().exitValue(), err);
            // The JVM's own notice about the test's --add-modules flag is not Kiln's (bin/kiln passes none).
            List<String> lines = err.lines().filter(l -> !l.isBlank() && !l.startsWith("WARNING: Using incubator modules")).toList();
            assertEquals(1, lines.size(), "one line on stderr:\n" + err);
            assertTrue(lines.get(0).contains("the embedded catalog at " + root + " is in use by another process (pid "
                    + holder.process().pid() + " on "), err);
            assertTrue(lines.get(0).contains("ingest sales"), "names the holder's command: " + err);
            assertTrue(lines.get(0).contains("kiln.lakehouse.catalog.type = postgres (or hive)"), err);
            assertFalse(err.contains("XSDB6") || err.contains("\tat "), err);
            assertTrue(seconds < 10, "took " + seconds + " s");
        }
        assertTrue(holder.process().isAlive(), "the holder must still run while the others were refused");

        assertTrue(holder.process().waitFor(300, TimeUnit.SECONDS), "the holder did not finish");
        assertEquals(0, holder.process().exitValue(), Files.readString(holder.err()));
        assertTrue(Files.readString(holder.out()).contains("rows read 5,000 = written 5,000 (raw.sales)"), Files.readString(holder.out()));
        // Once the holder is gone, the lock is free again.
        Run after = start(work, conf, root, "after", "sql", "SELECT count(*) AS n FROM raw.sales");
        assertTrue(after.process().waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, after.process().exitValue(), Files.readString(after.err()));
        assertTrue(Files.readString(after.out()).contains("5000"), Files.readString(after.out()));
    }
}
