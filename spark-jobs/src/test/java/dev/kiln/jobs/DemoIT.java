package dev.kiln.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The README's main command as a new user runs it: {@code bin/kiln demo} on flights-3m (fetched with
 * npm pack), run twice, then {@code bin/kiln sql} from a new process against the persistent catalog, and
 * {@code bin/kiln gpu-plan --require 90%} on the same lakehouse.
 */
class DemoIT {
    private static final Path REPO = Path.of("").toAbsolutePath().getParent();

    private record Result(int exit, String output) {}

    private static Result kiln(Path workDir, Path root, String... args) throws Exception {
        return kiln(java.util.Map.of(), workDir, root, args);
    }

    private static Result kiln(java.util.Map<String, String> env, Path workDir, Path root, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(REPO.resolve("bin/kiln").toString()));
        cmd.addAll(List.of(args));
        Path log = Files.createTempFile("kiln-demo-it", ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().put("KILN_LAKEHOUSE_ROOT", root.toString());
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(900, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + cmd);
        }
        // The progress bar redraws lines with carriage returns; keep what a reader of the log would see.
        String out = Files.readString(log, StandardCharsets.UTF_8).replace('\r', '\n');
        System.out.println("$ " + String.join(" ", cmd) + "\n" + out.lines().filter(l -> !l.isBlank()
                && !l.startsWith("[Stage")).reduce("", (a, b) -> a + b + "\n"));
        return new Result(p.exitValue(), out);
    }

    /** The numbers the champion's June report must show, as the tables hold them ("report <metric>=<value>" lines). */
    private static final String CHAMPION_REPORT_NUMBERS = """
            SELECT concat('report ', metric, '=', value) FROM reports.evaluation e JOIN ml.model_aliases a
              ON a.name = e.model_name AND a.version = e.model_version AND a.alias = 'champion'
              WHERE window_from = DATE'2001-06-01' AND window_to = DATE'2001-06-30' AND slice = 'overall'
              AND metric IN ('auc_roc', 'log_loss');
            SELECT concat('report threshold=', m.decision.threshold) FROM ml.models m JOIN ml.model_aliases a
              ON a.name = m.name AND a.version = m.version AND a.alias = 'champion';
            SELECT concat('report psi=', max(value)) FROM reports.drift d JOIN ml.model_aliases a
              ON a.name = d.model_name AND a.version = d.model_version AND a.alias = 'champion'
              WHERE current_from = DATE'2001-06-01' AND current_to = DATE'2001-06-30' AND metric = 'psi' AND status = 'breach';
            SELECT concat('report listed=', count(*)) FROM reports.html_reports;
            """;

    /**
     * Issue 34: the table functions kiln_historical_features, kiln_score and kiln_training_set in kiln sql, against
     * what the Java API wrote (the training set's rows, ml.predictions of the champion), row for row (EXCEPT ALL both
     * ways), for the flights of one June day given as a temporary view holding only origin, destination, date and distance.
     */
    private static final String SQL_FUNCTIONS = """
            CREATE OR REPLACE TEMP VIEW june15 AS SELECT origin, destination, date, distance FROM raw.flights
              WHERE flight_date = DATE'2001-06-15';
            CREATE OR REPLACE TEMP VIEW f AS SELECT origin, destination, date, origin_delay_stats__avg_delay_7d,
              route_delay_stats__flights_7d FROM kiln_historical_features('june15', 'date',
              array('origin_delay_stats@1:avg_delay_7d', 'route_delay_stats@1:flights_7d'));
            CREATE OR REPLACE TEMP VIEW t AS SELECT origin, destination, date, origin_delay_stats__avg_delay_7d,
              route_delay_stats__flights_7d FROM kiln_training_set('flight_delay') WHERE to_date(date) = DATE'2001-06-15';
            CREATE OR REPLACE TEMP VIEW s AS SELECT origin, destination, date, score, predicted_label
              FROM kiln_score('june15', 'models:/flight_delay@champion');
            CREATE OR REPLACE TEMP VIEW p AS SELECT origin, destination, date, score, predicted_label FROM ml.predictions
              WHERE model_name = 'flight_delay' AND prediction_date = DATE'2001-06-15'
              AND model_version = (SELECT version FROM ml.model_aliases WHERE name = 'flight_delay' AND alias = 'champion');
            SELECT concat('sql functions: features only in the function: ', count(*), ' of ', (SELECT count(*) FROM f))
              FROM (SELECT * FROM f EXCEPT ALL SELECT * FROM t);
            SELECT concat('sql functions: features only in the training set: ', count(*), ' of ', (SELECT count(*) FROM t))
              FROM (SELECT * FROM t EXCEPT ALL SELECT * FROM f);
            SELECT concat('sql functions: scores only in the function: ', count(*), ' of ', (SELECT count(*) FROM s))
              FROM (SELECT * FROM s EXCEPT ALL SELECT * FROM p);
            SELECT concat('sql functions: scores only in ml.predictions: ', count(*), ' of ', (SELECT count(*) FROM p))
              FROM (SELECT * FROM p EXCEPT ALL SELECT * FROM s);
            SELECT concat('sql functions: scored ', count(*), ' rows of june15') FROM s;
            """;

    /**
     * Issue 36: the demo wrote the champion's June report; headless Chromium, every network request refused, draws
     * each chart (an SVG with data marks and axis titles), and the page shows the tables' AUC, log loss, decision
     * threshold and PSI of the top flagged input. The screenshot lands in target/report-screenshots (docs/images
     * holds a copy).
     */
    private static void checkReportInABrowser(Path root, Result demo, String tables) throws Exception {
        List<Path> reports;
        try (var files = Files.walk(root.resolve("reports/html"))) {
            reports = files.filter(f -> f.toString().endsWith(".html")).toList();
        }
        assertEquals(1, reports.size(), "one report, rewritten by the second demo: " + reports);
        Path report = reports.get(0);
        assertTrue(report.toString().endsWith("/reports/html/flight_delay/" + report.getParent().getFileName() + "/2001-06-01_2001-06-30.html"),
                report.toString());
        assertTrue(demo.output().contains(report.toString() + " ("), "the demo prints the report's path\n" + demo.output());
        long bytes = Files.size(report);
        assertTrue(bytes < 5_000_000, "the flights report is " + bytes + " bytes");

        java.util.Map<String, Double> expected = new java.util.HashMap<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("report (\\w+)=([-0-9.Ee]+)").matcher(tables);
        while (m.find()) {
            expected.put(m.group(1), Double.parseDouble(m.group(2)));
        }
        assertEquals(java.util.Set.of("auc_roc", "log_loss", "threshold", "psi", "listed"), expected.keySet(), tables);
        assertEquals(1.0, expected.get("listed"), "reports.html_reports lists the report once");

        Path screenshot = Path.of("target/report-screenshots/flights-report.png").toAbsolutePath();
        ReportBrowser.Seen seen = ReportBrowser.open(REPO, report, screenshot);
        assertEquals(List.of(), seen.blocked(), "requests the page tried to make");
        assertEquals(List.of(), seen.failed(), "failed requests");
        assertEquals(List.of(), seen.consoleErrors(), "console errors");
        assertEquals(List.of(), seen.pageErrors(), "script errors");
        assertEquals(List.of(), seen.chartErrors(), "charts that failed");
        assertTrue(seen.expected() >= 10, "ROC, PR, calibration, slices, estimates and the inputs' distributions: " + seen.charts());
        assertEquals(seen.expected(), seen.drawn());
        assertEquals(seen.expected(), seen.charts().size());
        for (ReportBrowser.Chart c : seen.charts()) {
            assertTrue(c.svg() && c.width() > 100 && c.height() > 100 && c.marks() > 0, "chart drawn: " + c);
            assertEquals(2, c.axisTitles().stream().filter(t -> !t.isBlank()).count(), "both axis titles: " + c);
        }
        for (String metric : List.of("auc_roc", "log_loss", "threshold", "psi")) {
            List<ReportBrowser.Shown> shown = seen.numbers().stream().filter(n -> n.metric().equals(metric)).toList();
            assertTrue(!shown.isEmpty(), metric + " shown: " + seen.numbers());
            for (ReportBrowser.Shown n : shown) {
                assertEquals(expected.get(metric), Double.parseDouble(n.value()), metric);
                assertEquals(String.format(java.util.Locale.ROOT, "%.4f", expected.get(metric)), n.text(), metric);
            }
        }
        assertTrue(Files.size(screenshot) > 50_000, "a screenshot of the whole page: " + screenshot);
    }

    /**
     * Issue 34: the Python example as a new user runs it on this lakehouse: the package installed as the docs say
     * ({@code pip install ./python}, which carries the job jar), the example run from a directory outside the
     * repository with no KILN_HOME, and its output checked.
     */
    private static void runThePythonExample(Path work, Path root) throws Exception {
        Path python = PythonVenvs.freshWithKiln(work.resolve("venv-example"), PythonVenvs.base("kiln.pysparkVenv"));
        Path elsewhere = Files.createDirectories(work.resolve("notebook"));
        Path log = elsewhere.resolve("example.log");
        ProcessBuilder pb = new ProcessBuilder(python.toString(), REPO.resolve("python/examples/historical_features.py").toString())
                .directory(elsewhere.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().remove("KILN_HOME");
        pb.environment().remove("KILN_JOBS_JAR");
        pb.environment().put("KILN_CONF_DIR", REPO.resolve("conf").toString());
        pb.environment().put("KILN_LAKEHOUSE_ROOT", root.toString());
        Process p = pb.start();
        if (!p.waitFor(600, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the Python example timed out");
        }
        String out = Files.readString(log);
        System.out.println("$ python python/examples/historical_features.py (from " + elsewhere + ")\n" + out.lines()
                .filter(l -> !l.startsWith("[Stage") && !l.isBlank()).reduce("", (a, b) -> a + b + "\n"));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("origin_delay_stats__avg_delay_7d") && out.contains("route_delay_stats__flights_7d"), out);
        assertTrue(out.matches("(?s).*training set [0-9a-f]{12}: 3,000,000 rows, features .*"), out);
        assertTrue(out.matches("(?s).*models:/flight_delay/1 \\(logistic-regression\\): areaUnderROC 0\\.6[0-9]{3}.*"), out);
        // The three flights scored: one table row each, with a score and a label.
        assertEquals(3, out.lines().filter(l -> l.matches("\\|\\s*[A-Z]{3}\\s*\\|\\s*[A-Z]{3}\\s*\\|\\s*2001-06-15 [0-9:]+\\s*\\|\\s*0\\.[0-9]+\\s*\\|\\s*(true|false)\\s*\\|"))
                .count(), out);
        assertTrue(out.contains("as expected: unknown training set 'no_such_set'"), out);
    }

    /**
     * Issue 34: every Python block of the README and docs/ runs, as a new user runs it: from a directory outside the
     * repository, in a fresh venv with the package installed as the docs say, on this lakehouse. A block that opens a
     * Spark Connect session runs in a Connect-only venv (pyspark-client) against {@code bin/kiln connect-server} on
     * this lakehouse (its port in place of the documented 15002); the others in a classic one.
     */
    private static void runTheDocsPythonBlocks(Path work, Path root) throws Exception {
        Map<String, String> blocks = new java.util.LinkedHashMap<>();
        List<Path> pages = new java.util.ArrayList<>(List.of(REPO.resolve("README.md")));
        try (var docs = Files.list(REPO.resolve("docs"))) {
            docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(pages::add);
        }
        for (Path page : pages) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?s)```python\\n(.*?)```").matcher(Files.readString(page));
            for (int i = 1; m.find(); i++) {
                blocks.put(REPO.relativize(page) + " block " + i, m.group(1));
            }
        }
        assertTrue(blocks.keySet().stream().anyMatch(k -> k.startsWith("docs/library.md")), "library.md's block: " + blocks.keySet());
        assertTrue(blocks.keySet().stream().anyMatch(k -> k.startsWith("docs/spark-connect.md")), "spark-connect.md's block: " + blocks.keySet());
        assertTrue(blocks.keySet().stream().anyMatch(k -> k.startsWith("docs/mlflow.md")), "mlflow.md's block: " + blocks.keySet());
        Path elsewhere = Files.createDirectories(work.resolve("docs-blocks"));
        Path classic = PythonVenvs.freshWithKiln(work.resolve("venv-classic"), PythonVenvs.base("kiln.pysparkVenv"));
        Path remote = PythonVenvs.freshWithKiln(work.resolve("venv-connect"), PythonVenvs.base("kiln.connectClientVenv"));
        Path withMlflow = PythonVenvs.freshWithKiln(work.resolve("venv-mlflow"), PythonVenvs.base("kiln.mlflowVenv"),
                PythonVenvs.base("kiln.pysparkVenv"));
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String token = java.util.UUID.randomUUID().toString();
        Process server = null;
        Path serverLog = work.resolve("connect-server.log");
        try {
            // The classic blocks first: on the embedded catalog the Connect server holds the lakehouse once started.
            List<Map.Entry<String, String>> ordered = blocks.entrySet().stream()
                    .sorted(java.util.Comparator.comparing(e -> e.getValue().contains("builder.remote("))).toList();
            for (Map.Entry<String, String> block : ordered) {
                boolean connect = block.getValue().contains("builder.remote(");
                if (connect && server == null) {
                    ProcessBuilder pb = new ProcessBuilder(REPO.resolve("bin/kiln").toString(), "connect-server", "--port",
                            String.valueOf(port)).directory(work.toFile()).redirectErrorStream(true).redirectOutput(serverLog.toFile());
                    pb.environment().put("KILN_LAKEHOUSE_ROOT", root.toString());
                    pb.environment().put("KILN_CONNECT_TOKEN", token);
                    pb.environment().put("KILN_DRIVER_MEMORY", "3g");
                    server = pb.start();
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
                    while (!Files.readString(serverLog).contains("[kiln] Spark Connect server on")) {
                        assertTrue(server.isAlive() && System.nanoTime() < deadline, "connect-server:\n" + Files.readString(serverLog));
                        Thread.sleep(1000);
                    }
                }
                String code = connect ? block.getValue().replace("sc://localhost:15002", "sc://localhost:" + port) : block.getValue();
                Path file = Files.writeString(elsewhere.resolve(block.getKey().replaceAll("[^A-Za-z0-9]+", "_") + ".py"), code);
                Path python = connect ? remote : block.getValue().contains("import mlflow") ? withMlflow : classic;
                ProcessBuilder pb = new ProcessBuilder(python.toString(), file.toString())
                        .directory(elsewhere.toFile()).redirectErrorStream(true).redirectOutput(elsewhere.resolve("out.log").toFile());
                pb.environment().remove("KILN_HOME");
                pb.environment().remove("KILN_JOBS_JAR");
                pb.environment().put("KILN_CONF_DIR", REPO.resolve("conf").toString());
                pb.environment().put("KILN_LAKEHOUSE_ROOT", root.toString());
                pb.environment().put("KILN_CONNECT_TOKEN", token);
                Process p = pb.start();
                if (!p.waitFor(600, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new AssertionError(block.getKey() + " timed out");
                }
                String out = Files.readString(elsewhere.resolve("out.log"));
                System.out.println("$ python (" + block.getKey() + ", " + (connect ? "Spark Connect" : python == withMlflow ? "MLflow venv" : "classic") + ")\n" + out.lines()
                        .filter(l -> !l.startsWith("[Stage") && !l.isBlank()).reduce("", (a, b) -> a + b + "\n"));
                assertEquals(0, p.exitValue(), block.getKey() + ":\n" + out);
                if (block.getKey().startsWith("docs/library.md")) {
                    assertTrue(out.matches("(?s).*16503 3000000 [0-9]+ \\[.*'distance'.*\\].*"), out);
                    assertTrue(out.contains("/reports/html/flight_delay/1/2001-06-01_2001-06-30.html"), out);
                }
                if (block.getKey().startsWith("docs/mlflow.md")) {
                    assertTrue(out.matches("(?s).*PipelineModel [0-9]+ \\[.*'distance'\\].*"), out);
                }
                if (block.getKey().startsWith("docs/spark-connect.md")) {
                    assertTrue(out.contains("origin_delay_stats__avg_delay_7d") && out.contains("predicted_label"), out);
                    assertTrue(out.matches("(?s).*models:/flight_delay/1 areaUnderROC 0\\.6[0-9]{1,3} \\[.*'distance'.*\\].*"), out);
                    assertTrue(out.matches("(?s).*3000000 [0-9]+\\s.*"), out);
                }
            }
        } finally {
            if (server != null) {
                server.destroy();
                server.waitFor(60, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void demoIngestsFlightsOnceAndTheCatalogAnswersFromANewProcess() throws Exception {
        Path work = Files.createTempDirectory("kiln-demo-work");
        Path root = work.resolve("lake");

        Result first = kiln(work, root, "demo");
        assertEquals(0, first.exit(), first.output());
        assertTrue(first.output().contains("rows read 3,000,000 = written 3,000,000 (raw.flights) + quarantined 0"),
                first.output());
        assertTrue(first.output().contains("3,000,000 rows in 182 daily partitions (2001-01-01 .. 2001-07-01)"),
                first.output());
        assertTrue(first.output().contains("origin_delay_stats v1: 40,623 rows for periods 2001-01-01T00:00 .. 2001-07-01T00:00"),
                first.output());

        // bin/kiln's class-data archive: the first job command after the build (this demo) saved its classes at its
        // exit; the second demo starts from them, and must (KILN_CDS=require adds -Xshare:on: no archive, no JVM)
        String saves = "[kiln] this run saves the classes it loads to a class-data archive";
        assertTrue(first.output().contains(saves), first.output());
        try (java.util.stream.Stream<Path> archives = Files.list(REPO.resolve("spark-jobs/target/class-archive"))) {
            assertTrue(archives.anyMatch(a -> a.getFileName().toString().matches("kiln-[0-9]+\\.jsa")), "no class archive");
        }
        Result second = kiln(java.util.Map.of("KILN_CDS", "require"), work, root, "demo");
        assertEquals(0, second.exit(), second.output());
        assertFalse(second.output().contains(saves), second.output());
        assertTrue(second.output().contains("batch already committed: 0 rows added"), second.output());
        assertTrue(second.output().contains("3,000,000 rows in 182 daily partitions"), second.output());
        assertTrue(second.output().contains("origin_delay_stats v1: nothing new to materialize"), second.output());
        assertTrue(second.output().contains("route_delay_stats v1: nothing new to materialize"), second.output());
        assertTrue(first.output().matches("(?s).*training set flight_delay \\(id [0-9a-f]{12}\\): 3,000,000 rows, 13 features.*"),
                first.output());
        assertTrue(second.output().contains("3,000,000 rows, 13 features") && second.output().contains("(already built from"
                + " the same inputs: reused)"), second.output());

        // The whole pipeline ran: two registered models, the better one champion, June scored, evaluated, drift flagged.
        assertTrue(first.output().contains("Kiln demo summary"), first.output());
        assertTrue(first.output().matches("(?s).*train logistic-regression\\s+[0-9.]+ s\\s+models:/flight_delay/1 logistic-regression: areaUnderROC 0\\.6.*"),
                first.output());
        assertTrue(first.output().matches("(?s).*train gbt\\s+[0-9.]+ s\\s+models:/flight_delay/2 gbt: areaUnderROC 0\\.6.*"), first.output());
        assertTrue(first.output().contains("models:/flight_delay@champion 502,222 predictions, models:/flight_delay@challenger"
                + " 502,222 predictions"), first.output());
        assertTrue(first.output().matches("(?s).*evaluate\\s+[0-9.]+ s\\s+2001-06-01\\.\\.2001-06-30, champion: auc_roc 0\\.6.*"), first.output());
        // June's performance estimated from the scores before the evaluation, each estimate beside its realized value.
        assertTrue(first.output().matches("(?s).*estimate\\s+[0-9.]+ s\\s+2001-06-01\\.\\.2001-06-30, champion, estimated without"
                + " outcomes -> realized: auc_roc 0\\.[0-9]{4} \\[0\\.[0-9]{4} \\.\\. 0\\.[0-9]{4}\\] -> 0\\.6[0-9]{3}, f1 .*"), first.output());
        assertTrue(first.output().matches("(?s).*2001-05-01\\.\\.2001-05-31 vs 2001-06-01\\.\\.2001-06-30: [1-9][0-9]* of [0-9]+ metrics over threshold, flagged: .*"
                + "origin_delay_stats__avg_delay_7d \\(psi.*"), first.output());
        // Issue 37: every version's directory is an MLflow model with the spark flavor.
        List<Path> versions;
        try (var dirs = Files.list(root.resolve("models/flight_delay"))) {
            versions = dirs.filter(d -> d.getFileName().toString().matches("[0-9]+")).toList();
        }
        assertEquals(2, versions.size(), versions.toString());
        for (Path v : versions) {
            String mlmodel = Files.readString(v.resolve("MLmodel"));
            assertTrue(mlmodel.contains("\n  spark:\n") && mlmodel.contains("    model_data: sparkml")
                    && Files.isDirectory(v.resolve("sparkml/stages")), v + "\n" + mlmodel);
        }
        assertTrue(second.output().contains("models:/flight_delay/1 was trained from training set"), second.output());
        assertTrue(second.output().contains("models:/flight_delay/2 was trained from training set"), second.output());

        // The SQL the summary prints works as printed, and re-running replaced June instead of adding to it: the
        // printed queries and the counts a user checks after the demo, as one SQL file run by one new process
        // (kiln sql -f stops at the first statement that fails).
        List<String> printed = first.output().lines().map(String::trim).filter(l -> l.startsWith("bin/kiln sql \""))
                .map(l -> l.substring("bin/kiln sql \"".length(), l.length() - 1)).toList();
        assertEquals(3, printed.size(), first.output());
        // An estimate below a floor declared on the command line: exit 4 and one alert (a one-day window).
        Result floor = kiln(work, root, "estimate", "--model", "models:/flight_delay@champion", "--from", "2001-06-01", "--to",
                "2001-06-01", "--conf", "models.flight_delay.monitor.min-estimated.auc_roc=0.99");
        assertEquals(4, floor.exit(), floor.output());
        assertTrue(floor.output().contains("1 estimate(s) below the floor, written to reports.alerts"), floor.output());
        Path checks = Files.writeString(work.resolve("checks.sql"), String.join(";\n", printed) + ";\n"
                + "SELECT count(*) FROM ml.predictions;\n"
                + "SELECT concat('estimate alerts: ', count(*)) FROM reports.alerts WHERE source = 'estimate' AND metric = 'auc_roc';\n"
                + "SELECT count(*), count(DISTINCT origin) FROM raw.flights;\n"
                + "SELECT count(*), count(DISTINCT feature_set) FROM features.catalog;\n"
                + CHAMPION_REPORT_NUMBERS + SQL_FUNCTIONS);
        Result counts = kiln(work, root, "sql", "-f", checks.toString());
        assertEquals(0, counts.exit(), counts.output());
        assertTrue(counts.output().contains("| 1004444  |"), counts.output());
        assertTrue(counts.output().contains("estimate alerts: 1 "), counts.output());
        assertTrue(counts.output().contains("| 3000000  | 229                    |"), counts.output());
        assertTrue(counts.output().lines().anyMatch(l -> l.matches("\\|\\s*13\\s*\\|\\s*2\\s*\\|")), counts.output());
        checkReportInABrowser(root, first, counts.output());
        // Kiln's SQL functions in kiln sql give what the Java API gave: the training set's features, ml.predictions' scores.
        for (String check : List.of("features only in the function", "features only in the training set", "scores only in the function",
                "scores only in ml.predictions")) {
            assertTrue(counts.output().contains("sql functions: " + check + ": 0 of "), check + "\n" + counts.output());
        }
        assertTrue(counts.output().matches("(?s).*sql functions: scored 16503 rows of june15.*"), counts.output());
        runThePythonExample(work, root);
        runTheDocsPythonBlocks(work, root);

        // The plans stay GPU-ready (issue 21): on this demo lakehouse, every SQL job has at least 90% of its operators
        // on the GPU, MLlib's model stages counted apart. Explain only: the plugin's jar (scripts/fetch-rapids.sh,
        // cached; bin/test fetches it before the tests) is enough, no GPU is needed.
        Result plan = kiln(work, root, "gpu-plan", "--require", "90%");
        assertEquals(0, plan.exit(), plan.output());
        for (String job : List.of("ingest flights", "features materialize origin_delay_stats", "features materialize route_delay_stats",
                "training-set build flight_delay", "score rows models:/flight_delay@champion",
                "model transform models:/flight_delay@champion", "evaluate models:/flight_delay@champion",
                "drift numeric models:/flight_delay@champion")) {
            assertTrue(plan.output().lines().anyMatch(l -> l.trim().startsWith(job + " ") && l.trim().matches(".* [0-9.]+% +[0-9.]+% +([0-9.]+%|n/a)")),
                    "a share for " + job + "\n" + plan.output());
        }
        assertTrue(plan.output().lines().anyMatch(l -> l.trim().matches("model transform models:/flight_delay@champion\\s+5\\s+2\\s+3\\s.*")),
                "the model transform's three MLlib stages are counted apart\n" + plan.output());

        assertTrue(Files.isDirectory(root.resolve("_metastore")), "embedded metastore under the root");
        assertTrue(Files.exists(root.resolve("derby.log")), "derby.log under the root");
        assertTrue(!Files.exists(work.resolve("derby.log")), "no derby.log in the working directory");
    }
}
