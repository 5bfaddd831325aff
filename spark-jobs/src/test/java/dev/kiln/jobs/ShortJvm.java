package dev.kiln.jobs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * JVM options for the short processes the integration tests start on small data (a job of a few seconds' work).
 *
 * <p>Such a JVM spends about half its CPU compiling Spark's code with C2 for a run too short to profit from it:
 * with C1 only, {@code kiln features materialize} on 42 rows took 58 s of CPU and 34 s wall by default, 33 s of
 * CPU and 28 s wall with {@link #JIT}. Longer JVMs are slower with it (a unit-test module: 221 s by default, 355 s
 * with C1 only), so neither the test JVMs nor DemoIT's pipeline on flights-3m use it.
 *
 * <p>Much of the rest is loading and verifying the same ~20,000 classes in every process. bin/test makes a
 * class-data archive per launch classpath (scripts/class-archives.sh) and passes its folder as {@code kiln.cdsDir};
 * a process on that classpath maps the classes from it ({@code kiln ingest} of four rows, three pairs: 35 s of
 * CPU without, 27 s with). An archive is only valid for the classpath it was made on (any other prints a warning
 * and loads classes as usual), so each launch kind asks for its own, and a run without bin/test's archives gets none.
 */
final class ShortJvm {
    static final String JIT = "-XX:TieredStopAtLevel=1";

    /**
     * Spark settings for a short process whose test is about orchestration, not query execution (crashes, locks,
     * concurrency, the scheduler, the run log): Spark's interpreted operators and expressions, as in the unit tests,
     * instead of generating and compiling code for every query of a tiny job ({@code kiln ingest} of three rows,
     * three alternating pairs on a quiet machine: 22.0 s of CPU instead of 24.2). DemoIT, SparkSubmitIT,
     * PythonIT and StandaloneClusterIT keep code generation, as users run Kiln.
     */
    static final List<String> INTERPRETED = List.of("spark.sql.codegen.wholeStage=false", "spark.sql.codegen.factoryMode=NO_CODEGEN");

    /** {@link #INTERPRETED} as kiln {@code --conf} arguments. */
    static List<String> interpretedConf() {
        List<String> args = new ArrayList<>();
        INTERPRETED.forEach(kv -> args.addAll(List.of("--conf", kv)));
        return args;
    }

    private ShortJvm() {}

    /** Options for a JVM on the job jar's classpath ({@code kiln-jobs.jar:<spark-classpath.txt>}): direct, bin/kiln. */
    static String onJobClasspath() {
        return JIT + archive("job-classpath.jsa");
    }

    /** Options for a spark-submit driver of the Spark distribution at {@code kiln.sparkHome}. */
    static String submitted() {
        return JIT + archive("spark-submit.jsa");
    }

    /** {@code java <options> -cp <job classpath> dev.kiln.jobs.KilnMain}: a Kiln process as bin/kiln starts one. */
    static List<String> kilnMain(Path repo) throws IOException {
        Path jobJar = Path.of(System.getProperty("kiln.jobJar"));
        String cp = jobJar + ":" + Files.readString(jobJar.getParent().resolve("spark-classpath.txt")).trim();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(List.of(System.getProperty("kiln.javaOpens", "").split(" ")));
        cmd.add("-Xmx1g");
        cmd.add("-XX:+UseSerialGC");
        cmd.addAll(List.of(onJobClasspath().split(" ")));
        cmd.removeIf(String::isBlank);
        cmd.addAll(List.of("-Dlog4j2.configurationFile=" + repo.resolve("conf/log4j2.properties"), "-cp", cp,
                "dev.kiln.jobs.KilnMain"));
        return cmd;
    }

    private static String archive(String name) {
        String dir = System.getProperty("kiln.cdsDir", "");
        if (dir.isBlank() || dir.startsWith("${")) {
            return "";
        }
        Path archive = Path.of(dir, name);
        return Files.isRegularFile(archive) ? " -XX:SharedArchiveFile=" + archive : "";
    }
}
