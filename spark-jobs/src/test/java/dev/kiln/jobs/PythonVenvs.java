package dev.kiln.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Fresh virtualenvs for the Python tests, one per test, so that tests in parallel lanes never install into the same
 * one: {@code python3 -m venv}, the cached base venv's packages (pyspark 4.0.1 from scripts/setup-venv.sh, or
 * pyspark-client 4.0.1 from scripts/setup-connect-client.sh) made visible by a {@code .pth} file instead of being
 * downloaded again, then {@code pip install ./python} as the docs say.
 */
final class PythonVenvs {
    private static final Path REPO = Path.of(System.getProperty("kiln.home", "..")).toAbsolutePath().normalize();

    private PythonVenvs() {
    }

    /** The venv named by a system property that bin/test sets ({@code kiln.pysparkVenv}, {@code kiln.connectClientVenv}). */
    static Path base(String property) {
        String venv = System.getProperty(property, "");
        if (venv.isBlank()) {
            throw new IllegalStateException(property + " is not set: run the tests with bin/test");
        }
        return Path.of(venv);
    }

    /** A new venv at {@code dir} over the packages of {@code bases} (in that order), with the kiln package installed; returns its python. */
    static Path freshWithKiln(Path dir, Path... bases) throws IOException, InterruptedException {
        run(List.of("python3", "-m", "venv", dir.toString()), dir.getParent());
        StringBuilder lines = new StringBuilder();
        for (Path base : bases) {
            lines.append(sitePackages(base)).append('\n');
        }
        Path packages = sitePackages(dir);
        Files.writeString(packages.resolve("kiln_test_base.pth"), lines.toString());
        Path python = dir.resolve("bin/python");
        run(List.of(python.toString(), "-m", "pip", "install", "--quiet", "--no-deps", REPO.resolve("python").toString()),
                dir.getParent());
        return python;
    }

    private static Path sitePackages(Path venv) throws IOException {
        try (var libs = Files.list(venv.resolve("lib"))) {
            Path lib = libs.filter(p -> p.getFileName().toString().startsWith("python3")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no lib/python3.* in " + venv));
            return lib.resolve("site-packages");
        }
    }

    private static void run(List<String> command, Path dir) throws IOException, InterruptedException {
        Path log = Files.createTempFile("kiln-venv", ".log");
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(command + " timed out:\n" + Files.readString(log));
        }
        assertEquals(0, p.exitValue(), command + ":\n" + Files.readString(log));
        Files.deleteIfExists(log);
    }
}
