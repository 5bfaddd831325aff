package dev.kiln.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The job jar through a real {@code spark-submit} (the Spark 4.0.1 distribution that pyspark carries),
 * then the same lakehouse read by {@code spark-sql} and by the local launcher's classpath: one catalog,
 * three kinds of process.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SparkSubmitIT {
    private static Path sparkHome;
    private static Path jobJar;
    private static Path repo;
    private static Path root;
    private static Path confDir;

    @BeforeAll
    static void setUp() throws IOException {
        String home = System.getProperty("kiln.sparkHome", "");
        if (home.isBlank() || home.startsWith("${")) {
            throw new IllegalStateException("kiln.sparkHome is not set: run the tests with bin/test, which installs"
                    + " pyspark==4.0.1 and passes its Spark home");
        }
        sparkHome = Path.of(home);
        jobJar = Path.of(System.getProperty("kiln.jobJar"));
        repo = Path.of("").toAbsolutePath().getParent();
        root = Files.createTempDirectory("kiln-it-lakehouse");
        confDir = Files.createTempDirectory("kiln-it-conf");
        Files.copy(repo.resolve("conf/kiln.conf"), confDir.resolve("kiln.conf"));
        Files.copy(repo.resolve("conf/local.conf"), confDir.resolve("local.conf"));
        Path data = Files.createTempDirectory("kiln-it-data");
        Files.writeString(data.resolve("day1.csv"), """
                id,ts,amount,shop
                1,2024-03-01 10:00:00,10.5,north
                2,2024-03-01 11:00:00,oops,north
                3,2024-03-02 09:30:00,7.25,south
                """);
        Files.createDirectories(confDir.resolve("pipelines"));
        Files.writeString(confDir.resolve("pipelines/sales.conf"), """
                datasets.sales {
                  source { format = csv, path = "%s" }
                  schema = [ { name = id, type = int, nullable = false }, { name = ts, type = timestamp },
                             { name = amount, type = double }, { name = shop, type = string } ]
                  event-time = ts
                  derived = [ { name = sale_date, expr = "to_date(ts)" } ]
                  partition-by = [sale_date]
                  keys = [id]
                }
                feature-sets.shop_stats {
                  version = 1, entity = [shop], source = "raw.sales", event-time = ts, grain = day, ttl = 3d
                  features = [ { name = n_1d, agg = count, window = 1d } ]
                }
                """.formatted(data.resolve("day1.csv")));
    }

    private static List<String> kilnArgs(String... command) {
        List<String> args = new ArrayList<>(List.of("--conf-dir", confDir.toString(),
                "--conf", "kiln.lakehouse.root=" + root, "--conf", "spark.sql.shuffle.partitions=2"));
        args.addAll(List.of(command));
        return args;
    }

    private static List<String> sparkSubmit(String... command) {
        List<String> cmd = new ArrayList<>(List.of(sparkHome.resolve("bin/spark-submit").toString(),
                "--master", "local[2]", "--class", "dev.kiln.jobs.KilnMain",
                "--driver-java-options", "-Dlog4j2.configurationFile=" + repo.resolve("conf/log4j2.properties") + " " + ShortJvm.submitted(),
                jobJar.toString()));
        cmd.addAll(kilnArgs(command));
        return cmd;
    }

    private static Result run(List<String> command) throws Exception {
        Path log = Files.createTempFile("kiln-it", ".log");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + command);
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        System.out.println("$ " + String.join(" ", command) + "\n" + out);
        return new Result(p.exitValue(), out);
    }

    private record Result(int exit, String output) {}

    @Test
    @Order(1)
    void ingestThroughSparkSubmit() throws Exception {
        Result r = run(sparkSubmit("ingest", "sales"));
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("rows read 3 = written 2 (raw.sales) + quarantined 1 (raw.sales_quarantine)"),
                r.output());

        Result again = run(sparkSubmit("ingest", "sales"));
        assertEquals(0, again.exit(), again.output());
        assertTrue(again.output().contains("was already committed"), again.output());
    }

    @Test
    @Order(2)
    void badInputExitsNonZeroWithTheReason() throws Exception {
        Result r = run(sparkSubmit("ingest", "sales", "--source", "/nonexistent/kiln/*.csv"));
        assertEquals(1, r.exit(), r.output());
        assertTrue(r.output().contains("kiln: ingest failed: source path /nonexistent/kiln/*.csv does not exist"), r.output());

        Result unknown = run(sparkSubmit("ingest", "salez"));
        assertEquals(2, unknown.exit(), unknown.output());
        assertTrue(unknown.output().contains("datasets.salez: unknown dataset 'salez' (known: sales)"), unknown.output());
    }

    @Test
    @Order(3)
    void sparkSqlReadsTheKilnCatalog() throws Exception {
        Result features = run(sparkSubmit("features", "materialize"));
        assertEquals(0, features.exit(), features.output());
        List<String> cmd = new ArrayList<>(List.of(sparkHome.resolve("bin/spark-sql").toString(),
                "--master", "local[1]", "--jars", jobJar.toString(),
                "--driver-java-options", "-Dlog4j2.configurationFile=" + repo.resolve("conf/log4j2.properties")
                        + " -Dderby.stream.error.file=" + root.resolve("derby.log")));
        for (String line : catalogConf()) {
            cmd.add("--conf");
            cmd.add(line);
        }
        // Kiln's SQL functions come with catalog-conf's flags (issue 34), Kiln opened with its conf dir and --conf settings.
        cmd.addAll(List.of("-e", "SELECT count(*), sum(amount) FROM raw.sales; SELECT count(*) FROM raw.sales_quarantine;"
                + " SELECT concat('function rows ', count(*), ' with the feature column ', count(shop_stats__missing))"
                + " FROM kiln_historical_features('raw.sales', 'ts', array('shop_stats:n_1d'));"));
        Result r = run(cmd);
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().lines().anyMatch(l -> l.trim().equals("function rows 2 with the feature column 2")), r.output());
        assertTrue(r.output().lines().anyMatch(l -> l.trim().equals("2\t17.75")), r.output());
        assertTrue(r.output().lines().anyMatch(l -> l.trim().equals("1")), r.output());
    }

    /** The launcher's way: the job jar plus Spark's jars on a plain JVM, no Spark installation. */
    @Test
    @Order(4)
    void theLocalLauncherSeesTheSameTablesAndRunLog() throws Exception {
        String cp = jobJar + ":" + Files.readString(jobJar.getParent().resolve("spark-classpath.txt")).trim();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(List.of(System.getProperty("kiln.javaOpens", "").split(" ")));
        cmd.removeIf(String::isBlank);
        cmd.addAll(List.of("-Dlog4j2.configurationFile=" + repo.resolve("conf/log4j2.properties"),
                "-cp", cp, "dev.kiln.jobs.KilnMain"));
        cmd.addAll(kilnArgs("sql", "SELECT job, status, rows_in, rows_out, rows_quarantined FROM ops.job_runs"
                + " WHERE job = 'ingest sales' ORDER BY started_at"));
        Result r = run(cmd);
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("| ingest sales | succeeded | 3       | 2        | 1                |"), r.output());
        assertTrue(r.output().contains("| ingest sales | failed    |"), r.output());
    }

    private static List<String> catalogConf() throws Exception {
        String cp = jobJar + ":" + Files.readString(jobJar.getParent().resolve("spark-classpath.txt")).trim();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", cp, "dev.kiln.jobs.KilnMain"));
        cmd.addAll(kilnArgs("catalog-conf"));
        Result r = run(cmd);
        assertEquals(0, r.exit(), r.output());
        return r.output().lines().filter(l -> l.startsWith("--conf ")).map(l -> l.substring("--conf ".length())).toList();
    }
}
