package dev.kiln.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The Python package from PySpark: {@code pip install ./python} into the pyspark 4.0.1 venv the tests use and into a
 * Connect-only venv (pyspark-client 4.0.1, scripts/setup-connect-client.sh), then its pytest suite (python/tests),
 * which builds a small lakehouse with bin/kiln, serves it with {@code kiln connect-server} to a client in the
 * Connect-only venv, reads it through {@code kiln.Kiln} in a classic session, and mirrors its registry into a real
 * {@code mlflow server} (MLflow venv: scripts/setup-mlflow.sh).
 */
class PythonIT {
    private static final Path REPO = Path.of(System.getProperty("kiln.home", "..")).toAbsolutePath().normalize();

    @Test
    void thePytestSuitePasses() throws IOException, InterruptedException {
        // Fresh venvs of this test's own (the cached ones' packages, the kiln package installed as the docs say), so
        // that DemoIT in the other lane never installs into the same venv at the same time.
        Path venvs = Files.createTempDirectory("kiln-python-it");
        Path python = PythonVenvs.freshWithKiln(venvs.resolve("classic"), PythonVenvs.base("kiln.pysparkVenv"));
        connectPythonPath = PythonVenvs.freshWithKiln(venvs.resolve("connect"), PythonVenvs.base("kiln.connectClientVenv")).toString();
        PythonVenvs.freshWithKiln(venvs.resolve("mlflow"), PythonVenvs.base("kiln.mlflowVenv"), PythonVenvs.base("kiln.pysparkVenv"));
        mlflowVenvPath = venvs.resolve("mlflow").toString();
        Result tests = run(List.of(python.toString(), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                REPO.resolve("python/tests").toString()), 2400);
        System.out.println(tests.output());
        assertEquals(0, tests.exit(), "pytest python/tests:\n" + tests.output());
        assertTrue(tests.output().contains(" passed") && !tests.output().contains(" skipped"), tests.output());
    }

    private static String connectPythonPath = "";
    private static String mlflowVenvPath = "";

    private record Result(int exit, String output) {}

    private static Result run(List<String> command, int timeoutSeconds) throws IOException, InterruptedException {
        Path log = Files.createTempFile("kiln-python-it", ".log");
        ProcessBuilder pb = new ProcessBuilder(command).directory(REPO.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().put("KILN_HOME", REPO.toString());
        pb.environment().put("KILN_JOBS_JAR", System.getProperty("kiln.jobJar"));
        pb.environment().put("KILN_CONNECT_PYTHON", connectPythonPath);
        pb.environment().put("KILN_MLFLOW_VENV", mlflowVenvPath);
        // The OpenLineage client (openlineage-python, with Airflow's OpenLineage provider in the Airflow venv)
        pb.environment().put("KILN_OPENLINEAGE_PYTHON", PythonVenvs.base("kiln.airflowVenv").resolve("bin/python").toString());
        pb.environment().put("KILN_JAVA_OPTS", "-XX:+UseSerialGC " + ShortJvm.onJobClasspath()); // the suite's bin/kiln processes
        Process p = pb.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(command + " did not finish in " + timeoutSeconds + " s:\n" + Files.readString(log));
        }
        return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    }
}
