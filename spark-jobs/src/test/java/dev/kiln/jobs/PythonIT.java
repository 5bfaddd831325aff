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
 * The Python package from PySpark: {@code pip install ./python} into the pyspark 4.0.1 venv the tests use, then its
 * pytest suite (python/tests), which builds a small lakehouse with bin/kiln and reads it through {@code kiln.Kiln}.
 */
class PythonIT {
    private static final Path REPO = Path.of(System.getProperty("kiln.home", "..")).toAbsolutePath().normalize();

    @Test
    void thePytestSuitePasses() throws IOException, InterruptedException {
        String venvProperty = System.getProperty("kiln.pysparkVenv", "");
        if (venvProperty.isBlank()) {
            throw new IllegalStateException("kiln.pysparkVenv is not set: run the tests with bin/test");
        }
        Path python = Path.of(venvProperty, "bin", "python");
        assertEquals(0, run(List.of(python.toString(), "-m", "pip", "install", "--quiet", "--force-reinstall", "--no-deps",
                REPO.resolve("python").toString()), 300).exit(), "pip install ./python");
        Result tests = run(List.of(python.toString(), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                REPO.resolve("python/tests").toString()), 900);
        System.out.println(tests.output());
        assertEquals(0, tests.exit(), "pytest python/tests:\n" + tests.output());
        assertTrue(tests.output().contains(" passed"), tests.output());
    }

    private record Result(int exit, String output) {}

    private static Result run(List<String> command, int timeoutSeconds) throws IOException, InterruptedException {
        Path log = Files.createTempFile("kiln-python-it", ".log");
        ProcessBuilder pb = new ProcessBuilder(command).directory(REPO.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().put("KILN_HOME", REPO.toString());
        pb.environment().put("KILN_JOBS_JAR", System.getProperty("kiln.jobJar"));
        pb.environment().put("KILN_JAVA_OPTS", "-XX:+UseSerialGC " + ShortJvm.onJobClasspath()); // the suite's bin/kiln processes
        Process p = pb.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(command + " did not finish in " + timeoutSeconds + " s:\n" + Files.readString(log));
        }
        return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    }
}
