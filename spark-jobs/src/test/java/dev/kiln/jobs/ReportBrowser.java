package dev.kiln.jobs;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Kiln HTML report opened in headless Chromium, driven by puppeteer-core ({@code scripts/setup-browser.sh}
 * installs both; {@code report-check.cjs} does the looking), with every network request refused: what each chart
 * drew, the numbers the page shows, and every request, console error or script error seen.
 */
final class ReportBrowser {
    private ReportBrowser() {}

    record Chart(String id, String title, boolean svg, double width, double height, int marks, List<String> axisTitles) {}

    /** A number the page shows: its metric, exact value and text. */
    record Shown(String metric, String value, String text) {}

    record Seen(String title, int expected, int drawn, List<String> chartErrors, List<Chart> charts, List<Shown> numbers,
            List<String> blocked, List<String> failed, List<String> consoleErrors, List<String> pageErrors) {}

    static Seen open(Path repo, Path report, Path screenshot) throws Exception {
        Process setup = new ProcessBuilder(repo.resolve("scripts/setup-browser.sh").toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<String> paths = new String(setup.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        if (setup.waitFor() != 0 || paths.size() != 2) {
            throw new AssertionError("scripts/setup-browser.sh failed: " + paths);
        }
        Path script = Path.of(ReportBrowser.class.getResource("/report-check.cjs").toURI());
        Files.createDirectories(screenshot.getParent());
        Path err = Files.createTempFile("report-check", ".err");
        ProcessBuilder pb = new ProcessBuilder("node", script.toString(), paths.get(0), report.toString(), screenshot.toString())
                .redirectError(err.toFile());
        pb.environment().put("NODE_PATH", paths.get(1));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(180, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new AssertionError("report-check.cjs failed on " + report + ":\n" + out + Files.readString(err));
        }
        return new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false).readValue(out, Seen.class);
    }
}
