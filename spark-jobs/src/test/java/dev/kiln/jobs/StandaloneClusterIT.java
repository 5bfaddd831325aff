package dev.kiln.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The pipeline through real {@code spark-submit} of the job jar on a Spark standalone cluster (a master and two
 * one-core workers on localhost, started from the Spark 4.0.1 distribution pyspark carries): ingest, features,
 * training set and training, scoring, each a separate application whose tasks run in the workers' executors,
 * all against one lakehouse; then {@code spark-sql} on the same cluster reads the predictions and the registry
 * by name from the Kiln catalog. The catalog is the configuration {@code conf/cluster.conf} documents: a Thrift
 * Hive Metastore service (scripts/metastore.sh) backed by PostgreSQL (scripts/setup-postgres.sh, a database of
 * this test's own), and {@code spark-sql} gets only the flags {@code kiln catalog-conf} prints.
 * (Promotion and drift through spark-submit run in AirflowIT's DAG runs.)
 */
class StandaloneClusterIT {
    // Master, workers, drivers and executors here each live a minute or less on tiny data, five JVMs on two cores:
    // all run the quick (C1) JIT only (ShortJvm.JIT), which spares them about a third of this test's time; the
    // drivers also map the spark-submit class-data archive (ShortJvm.submitted()) when bin/test made one.
    private static final List<Process> CLUSTER = new ArrayList<>();
    private static Path sparkHome;
    private static Path jobJar;
    private static Path repo;
    private static Path work;
    private static Path root;
    private static Path confDir;
    private static String master;
    private static String metastoreUri;
    private static String database;

    @BeforeAll
    static void startTheCluster() throws Exception {
        String home = System.getProperty("kiln.sparkHome", "");
        if (home.isBlank() || home.startsWith("${")) {
            throw new IllegalStateException("kiln.sparkHome is not set: run the tests with bin/test, which installs"
                    + " pyspark==4.0.1 and passes its Spark home");
        }
        sparkHome = Path.of(home);
        jobJar = Path.of(System.getProperty("kiln.jobJar"));
        repo = Path.of("").toAbsolutePath().getParent();
        work = Files.createTempDirectory("kiln-cluster-it");
        root = work.resolve("lake");
        confDir = work.resolve("conf");
        writeConfAndData();
        startTheMetastore();

        int port = freePort();
        master = "spark://127.0.0.1:" + port;
        Path masterLog = work.resolve("master.log");
        CLUSTER.add(daemon(masterLog, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
                String.valueOf(port), "--webui-port", String.valueOf(freePort())));
        awaitLine(masterLog, "I have been elected leader", 90);
        for (int i = 1; i <= 2; i++) {
            Path log = work.resolve("worker-" + i + ".log");
            CLUSTER.add(daemon(log, gpuWorkerEnv(i), "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1",
                    "--memory", "1500m", "--webui-port", String.valueOf(freePort()), "--work-dir",
                    work.resolve("worker-" + i).toString(), master));
            awaitLine(log, "Successfully registered with master", 90);
        }
    }

    @AfterAll
    static void stopTheCluster() throws Exception {
        for (Process p : CLUSTER) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        if (metastoreUri != null) {
            run(List.of(repo.resolve("scripts/metastore.sh").toString(), "stop", "--dir", work.resolve("metastore").toString()));
            SharedCatalogs.dropDatabase(database);
        }
    }

    /** A PostgreSQL database of this run's own behind a Thrift metastore service on a free port. */
    private static void startTheMetastore() throws Exception {
        database = "kiln_cluster_it_" + ProcessHandle.current().pid();
        Path credentials = SharedCatalogs.database(repo, database);
        Result started = run(List.of(repo.resolve("scripts/metastore.sh").toString(), "start", "--port",
                String.valueOf(freePort()), "--dir", work.resolve("metastore").toString(), "--credentials", credentials.toString()));
        assertEquals(0, started.exit(), started.output());
        metastoreUri = started.output().lines().filter(l -> l.startsWith("thrift://")).findFirst()
                .orElseThrow(() -> new AssertionError("no thrift:// URI from scripts/metastore.sh:\n" + started.output()));
    }

    private static void writeConfAndData() throws IOException {
        Files.createDirectories(confDir.resolve("pipelines"));
        Files.copy(repo.resolve("conf/kiln.conf"), confDir.resolve("kiln.conf"));
        Files.copy(repo.resolve("conf/local.conf"), confDir.resolve("local.conf"));
        // Thirty days of readings from six sensors; from day 21 sensor s5's readings run high.
        Path data = Files.createDirectories(work.resolve("data"));
        StringBuilder csv = new StringBuilder("sensor,ts,reading\n");
        for (int day = 0; day < 30; day++) {
            for (int hour = 0; hour < 24; hour += 2) {
                for (int s = 0; s < 6; s++) {
                    double reading = ((day * 7 + hour * 3 + s * 11) % 17) / 17.0 + (day >= 20 && s == 5 ? 0.8 : 0);
                    csv.append(String.format("s%d,2024-01-%02d %02d:00:00,%.4f%n", s, day + 1, hour, reading));
                }
            }
        }
        Files.writeString(data.resolve("readings.csv"), csv);
        Files.writeString(confDir.resolve("pipelines/sensors.conf"), """
                datasets.readings {
                  source { format = csv, path = "%s" }
                  schema = [ { name = sensor, type = string, nullable = false }, { name = ts, type = timestamp_ntz, nullable = false },
                             { name = reading, type = double, nullable = false } ]
                  event-time = ts
                  derived = [ { name = day, expr = "to_date(ts)" } ]
                  partition-by = [day]
                }
                feature-sets.sensor_stats {
                  version = 1, entity = [sensor], source = "raw.readings", event-time = ts, grain = day, ttl = 3d
                  features = [ { name = avg_3d, agg = "avg(reading)", window = 3d }, { name = high_rate_3d, agg = "rate(reading > 0.6)", window = 3d } ]
                }
                training-sets.sensor_high {
                  events = "raw.readings", event-time = ts, columns = [ts, sensor, reading], label = "reading > 0.6"
                  features = ["sensor_stats:avg_3d", "sensor_stats:high_rate_3d"]
                }
                models.sensor_high {
                  task = binary-classification, training-set = sensor_high, numeric = [], categorical = [sensor]
                  algorithm = logistic-regression
                  grids { logistic-regression { maxIter = [10] } }
                  split { train-until = "2024-01-15", validate-until = "2024-01-21" }
                }
                """.formatted(data.resolve("readings.csv")));
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static Process daemon(Path log, String mainClass, String... args) throws IOException {
        return daemon(log, Map.of(), mainClass, args);
    }

    private static Process daemon(Path log, Map<String, String> env, String mainClass, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(sparkHome.resolve("bin/spark-class").toString(), mainClass));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("SPARK_HOME", sparkHome.toString());
        pb.environment().put("SPARK_LOG_DIR", work.toString());
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        pb.environment().put("SPARK_DAEMON_JAVA_OPTS", ShortJvm.JIT);
        pb.environment().putAll(env);
        return pb.start();
    }

    private static void awaitLine(Path log, String line, int seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            if (Files.exists(log) && Files.readString(log, StandardCharsets.UTF_8).contains(line)) {
                return;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("no '" + line + "' in " + log + " after " + seconds + " s:\n"
                + (Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "(no log)"));
    }

    private record Result(int exit, String output) {}

    private static Result run(List<String> command) throws Exception {
        Path log = Files.createTempFile(work, "run", ".log");
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("SPARK_HOME", sparkHome.toString());
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        Process p = pb.start();
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + command);
        }
        String out = Files.readString(log, StandardCharsets.UTF_8).replace('\r', '\n');
        System.out.println("$ " + String.join(" ", command) + "\n" + out.lines().filter(l -> !l.isBlank() && !l.startsWith("[Stage"))
                .reduce("", (a, b) -> a + b + "\n"));
        return new Result(p.exitValue(), out);
    }

    /** spark-submit of the job jar to the standalone master, in client mode (the driver holds the embedded catalog). */
    private static Result submit(String... kiln) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(sparkHome.resolve("bin/spark-submit").toString(),
                "--master", master, "--deploy-mode", "client", "--class", "dev.kiln.jobs.KilnMain",
                "--conf", "spark.executor.cores=1", "--conf", "spark.executor.memory=1g", "--conf", "spark.cores.max=2",
                "--conf", "spark.executor.extraJavaOptions=" + ShortJvm.JIT,
                "--driver-java-options", "-Dlog4j2.configurationFile=" + repo.resolve("conf/log4j2.properties") + " " + ShortJvm.submitted(),
                jobJar.toString(), "--conf-dir", confDir.toString(), "--conf", "kiln.lakehouse.root=" + root,
                "--conf", "kiln.lakehouse.catalog.type=hive", "--conf", "kiln.lakehouse.catalog.metastore-uri=" + metastoreUri,
                "--conf", "spark.sql.shuffle.partitions=4"));
        cmd.addAll(List.of(kiln));
        return run(cmd);
    }

    @Test
    void thePipelineRunsOnTheClusterAndSparkSqlReadsItsTables() throws Exception {
        Result ingest = submit("ingest", "readings");
        assertEquals(0, ingest.exit(), ingest.output());
        assertTrue(ingest.output().contains("rows read 2,160 = written 2,160 (raw.readings) + quarantined 0"), ingest.output());

        Result features = submit("features", "materialize", "sensor_stats");
        assertEquals(0, features.exit(), features.output());

        Result train = submit("train", "sensor_high");
        assertEquals(0, train.exit(), train.output());
        assertTrue(train.output().contains("models:/sensor_high/1 ("), train.output());

        Result score = submit("score", "--model", "models:/sensor_high/1", "--from", "2024-01-21", "--to", "2024-01-30");
        assertEquals(0, score.exit(), score.output());
        assertTrue(score.output().matches("(?s).*models:/sensor_high/1\\s+720 predictions.*"), score.output());

        // Executors on the workers did the work: the applications are in the workers' work directories.
        for (int i = 1; i <= 2; i++) {
            try (var apps = Files.list(work.resolve("worker-" + i))) {
                assertTrue(apps.anyMatch(d -> d.getFileName().toString().startsWith("app-")), "worker " + i + " ran executors");
            }
        }

        List<String> sql = new ArrayList<>(List.of(sparkHome.resolve("bin/spark-sql").toString(), "--master", master,
                "--jars", jobJar.toString(), "--conf", "spark.executor.extraJavaOptions=" + ShortJvm.JIT,
                "--driver-java-options", "-Dlog4j2.configurationFile=" + repo.resolve("conf/log4j2.properties") + " " + ShortJvm.submitted()));
        for (String line : catalogConf()) {
            sql.add("--conf");
            sql.add(line);
        }
        sql.addAll(List.of("-e", "SELECT count(*), count(DISTINCT prediction_date) FROM ml.predictions;"
                + " SELECT count(*) FROM ml.models WHERE name = 'sensor_high';"));
        Result r = run(sql);
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().lines().anyMatch(l -> l.trim().equals("720\t10")), r.output());
        assertTrue(r.output().lines().anyMatch(l -> l.trim().equals("1")), r.output());
        // No Derby metastore anywhere: the tables' catalog is the service's PostgreSQL database.
        assertTrue(!Files.exists(root.resolve("_metastore")), "an embedded metastore was created under " + root);
    }

    /**
     * Spark's GPU scheduling with conf/gpu.conf's resource settings (the RAPIDS plugin stays off: no CUDA here): each
     * worker found one stand-in GPU with scripts/gpu-discovery.sh, and every task of an application that asks for
     * GPUs ran holding its worker's address.
     */
    @Test
    void tasksAreScheduledAgainstTheWorkersStandInGpus() throws Exception {
        Path probeJar = work.resolve("gpu-task-probe.jar");
        Path classes = Path.of(GpuTaskProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        try (var jar = new java.util.jar.JarOutputStream(Files.newOutputStream(probeJar));
                var files = Files.list(classes.resolve("dev/kiln/jobs"))) {
            for (Path f : files.filter(f -> f.getFileName().toString().startsWith("GpuTaskProbe")).toList()) {
                jar.putNextEntry(new java.util.jar.JarEntry("dev/kiln/jobs/" + f.getFileName()));
                jar.write(Files.readAllBytes(f));
                jar.closeEntry();
            }
        }
        List<String> cmd = new ArrayList<>(List.of(sparkHome.resolve("bin/spark-submit").toString(), "--master", master,
                "--class", GpuTaskProbe.class.getName(), "--conf", "spark.executor.cores=1", "--conf", "spark.executor.memory=512m",
                "--conf", "spark.cores.max=2", "--conf", "spark.executor.extraJavaOptions=" + ShortJvm.JIT,
                "--conf", "spark.scheduler.minRegisteredResourcesRatio=1.0", // both executors, before the tasks start
                "--driver-java-options", "-Dlog4j2.configurationFile=" + repo.resolve("conf/log4j2.properties") + " " + ShortJvm.submitted()));
        gpuConf().getObject("kiln.spark.conf").unwrapped().forEach((k, v) -> {
            if (k.startsWith("spark.executor.resource.gpu.") || k.startsWith("spark.task.resource.gpu.")) {
                cmd.addAll(List.of("--conf", k + "=" + v)); // the resource settings only: not the RAPIDS plugin
            }
        });
        assertTrue(cmd.contains("spark.executor.resource.gpu.amount=1") && cmd.contains("spark.task.resource.gpu.amount=0.125"),
                cmd::toString);
        cmd.addAll(List.of(probeJar.toString(), "4"));
        Result r = run(cmd);
        assertEquals(0, r.exit(), r.output());
        List<String> tasks = r.output().lines().filter(l -> l.startsWith("gpu-task ")).toList();
        assertEquals(4, tasks.size(), r.output());
        // one executor per worker, each holding its worker's one GPU: stand-in address 1 on worker 1, 2 on worker 2
        assertTrue(tasks.stream().allMatch(l -> l.matches("gpu-task partition=\\d executor=\\d+ addresses=[12]")), tasks::toString);
        assertTrue(tasks.stream().anyMatch(l -> l.endsWith("=1")) && tasks.stream().anyMatch(l -> l.endsWith("=2")), tasks::toString);
        for (int i = 1; i <= 2; i++) {
            String log = Files.readString(work.resolve("worker-" + i + ".log"), StandardCharsets.UTF_8);
            assertTrue(log.contains("gpu -> [name: gpu, addresses: " + i + "]"), "worker " + i + " found its stand-in GPU:\n" + log);
        }
    }

    /** conf/gpu.conf with the repository's discovery script. */
    private static com.typesafe.config.Config gpuConf() {
        return com.typesafe.config.ConfigFactory.parseMap(Map.of("kiln.gpu.discovery-script",
                        repo.resolve("scripts/gpu-discovery.sh").toString()))
                .withFallback(com.typesafe.config.ConfigFactory.parseFile(repo.resolve("conf/gpu.conf").toFile())).resolve();
    }

    /** Worker i's GPU settings from conf/gpu.conf, its discovery script reporting stand-in GPU address i. */
    private static Map<String, String> gpuWorkerEnv(int i) {
        StringBuilder opts = new StringBuilder();
        gpuConf().getObject("kiln.gpu.worker-conf").unwrapped().forEach((k, v) -> opts.append(" -D").append(k).append('=').append(v));
        return Map.of("SPARK_WORKER_OPTS", opts.toString().strip(), "KILN_GPU_STANDIN_ADDRESSES", String.valueOf(i));
    }

    private static List<String> catalogConf() throws Exception {
        String cp = jobJar + ":" + Files.readString(jobJar.getParent().resolve("spark-classpath.txt")).trim();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", cp, "dev.kiln.jobs.KilnMain", "--conf-dir", confDir.toString(), "--conf", "kiln.lakehouse.root=" + root,
                "--conf", "kiln.lakehouse.catalog.type=hive", "--conf", "kiln.lakehouse.catalog.metastore-uri=" + metastoreUri,
                "catalog-conf"));
        Result r = run(cmd);
        assertEquals(0, r.exit(), r.output());
        return r.output().lines().filter(l -> l.startsWith("--conf ")).map(l -> l.substring("--conf ".length())).toList();
    }
}
