package dev.kiln.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Keeps the plans GPU-ready: the flights pipeline (conf/pipelines/flights.conf) on a small flights-shaped file with
 * zone-less times, run by {@code kiln demo}, then {@code kiln gpu-plan --require 90%} with the RAPIDS jar
 * (scripts/fetch-rapids.sh, cached) on the classpath: every SQL job must have 90% of its operators on the GPU.
 */
class GpuPlanIT {
    private static final Path REPO = Path.of("").toAbsolutePath().getParent();

    private record Result(int exit, String output) {}

    private static Result kiln(Path work, Map<String, String> env, String extraCp, String... args) throws Exception {
        Path jobJar = Path.of(System.getProperty("kiln.jobJar"));
        String cp = jobJar + ":" + Files.readString(jobJar.getParent().resolve("spark-classpath.txt")).trim() + extraCp;
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(List.of(System.getProperty("kiln.javaOpens", "").split(" ")));
        cmd.removeIf(String::isBlank);
        cmd.addAll(List.of("-Xmx2g", "-XX:+UseParallelGC", "-Dkiln.home=" + REPO,
                "-Dlog4j2.configurationFile=" + REPO.resolve("conf/log4j2.properties"), "-cp", cp, "dev.kiln.jobs.KilnMain"));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("--conf", "kiln.spark.master=local[2]", "--conf", "spark.sql.shuffle.partitions=2",
                "--conf", "spark.ui.showConsoleProgress=false"));
        Path log = Files.createTempFile(work, "kiln", ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(work.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(600, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + String.join(" ", args));
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        System.out.println("$ kiln " + String.join(" ", args) + "\n" + out);
        return new Result(p.exitValue(), out);
    }

    private static String rapidsJar() throws Exception {
        Process p = new ProcessBuilder(REPO.resolve("scripts/fetch-rapids.sh").toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String path = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(0, p.waitFor(), "scripts/fetch-rapids.sh failed");
        return path;
    }

    @Test
    void everySqlJobOfTheFlightsPipelineHasNinetyPercentOfItsOperatorsOnTheGpu() throws Exception {
        Path work = Files.createTempDirectory("kiln-gpu-plan-it");
        Path data = work.resolve("data");
        Map<String, String> env = Map.of("KILN_LAKEHOUSE_ROOT", work.resolve("lake").toString(), "KILN_DATA_DIR", data.toString());
        // A flights-shaped Parquet file whose times have no zone (TIMESTAMP_NTZ), as the real one's.
        Result made = kiln(work, env, "", "sql", "CREATE TABLE default.small_flights USING parquet LOCATION '"
                + data.resolve("flights-3m.parquet") + "' AS SELECT"
                + " timestamp_ntz'2001-01-01 00:00:00' + make_dt_interval(cast(id % 181 AS int), cast(id * 7 % 24 AS int),"
                + " cast(id % 60 AS int), 0) AS date, cast(id * 37 % 90 - 20 AS int) AS delay, cast(100 + id % 900 AS int) AS distance,"
                + " element_at(array('SEA', 'LAX', 'ORD', 'JFK'), cast(id % 4 + 1 AS int)) AS origin,"
                + " element_at(array('DEN', 'ATL', 'SFO'), cast(id % 3 + 1 AS int)) AS destination FROM range(6000)");
        assertEquals(0, made.exit(), made.output());
        Result demo = kiln(work, env, "", "demo");
        assertEquals(0, demo.exit(), demo.output());

        Result plan = kiln(work, env, ":" + rapidsJar(), "gpu-plan", "--require", "90%");
        assertEquals(0, plan.exit(), plan.output());
        for (String job : List.of("ingest flights", "features materialize origin_delay_stats", "features materialize route_delay_stats",
                "training-set build flight_delay", "score rows models:/flight_delay@champion", "model transform models:/flight_delay@champion")) {
            assertTrue(plan.output().lines().anyMatch(l -> l.trim().startsWith(job + " ") && l.trim().endsWith("%")),
                    "a share for " + job + "\n" + plan.output());
        }
    }
}
