package dev.kiln.bench;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.to_date;

import dev.kiln.api.ReferencePipeline;
import dev.kiln.lakehouse.KilnException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * {@code kiln bench daily}: the daily DAG's tasks as the scheduler runs them, each a cold process on one day of
 * flights (ingest the day's file, materialize, score, evaluate, drift), Kiln's CLI beside the same work written by
 * hand (Spark, Delta, MLlib on paths). Both lakehouses are first built from every day before that day (not timed)
 * and copied aside; each round puts the copy back, then runs the five tasks in order. Per task: wall time, CPU time
 * (the process's user + system), and the fixed part, from the process's Spark event log: time from launch to the
 * SparkContext's start (JVM start, class loading, configuration) and to the first Spark job (the catalog, the run
 * log, planning). Kiln runs twice per round, with and without bin/kiln's class-data archive.
 *
 * <p>This process starts no Spark of its own (the embedded catalog admits one process): the preparations and the
 * hand-written tasks are child processes too ({@code bench daily-step}).
 */
final class DailyBench {
    static final List<String> TASKS = List.of("ingest", "materialize", "score", "evaluate", "drift");
    private static final String MODEL = "models:/flight_delay@champion";

    /** One variant of the tasks: Kiln with or without its class archive, or the hand-written work. */
    enum Variant {
        KILN_NO_ARCHIVE("Kiln, no class archive"), KILN("Kiln"), HAND("hand-written");

        final String label;

        Variant(String label) {
            this.label = label;
        }
    }

    /** One task process: wall and CPU seconds; seconds from launch to the Spark context's start and to the first job. */
    record Task(String name, double wall, double cpu, double sparkStart, double firstJob) {}

    private DailyBench() {}

    static int run(BenchCommand bench, int rounds, LocalDate day) {
        Path home = Path.of(System.getProperty("kiln.home", "."));
        Path kiln = home.resolve("bin/kiln");
        Layout at = layout(PipelineBench.Reference.of(bench).root(), day);
        long started = System.nanoTime();
        delete(at.base());
        progress("bench daily: preparing both lakehouses with the flights before " + day + " (not timed)");
        step(bench, kiln, at, "prepare-kiln", Map.of(), at.base().resolve("logs/prepare-kiln.log"));
        step(bench, kiln, at, "prepare-hand", Map.of(), at.base().resolve("logs/prepare-hand.log"));
        for (Path side : List.of(at.kilnRoot(), at.handRoot())) {
            copy(side, snapshot(side));
        }
        progress(String.format("bench daily: prepared in %.0f s; a warm-up round of each variant, then %d timed", 
                (System.nanoTime() - started) / 1e9, rounds));
        Map<Variant, List<List<Task>>> timed = new LinkedHashMap<>();
        for (Variant v : Variant.values()) {
            timed.put(v, new ArrayList<>());
        }
        for (int round = 0; round <= rounds; round++) {
            List<Variant> order = new ArrayList<>(List.of(Variant.values()));
            if (round % 2 == 0) {
                java.util.Collections.reverse(order);
            }
            for (Variant v : order) {
                List<Task> tasks = round(bench, kiln, at, v, round);
                if (round > 0) {
                    timed.get(v).add(tasks);
                }
            }
        }
        print(timed, at, rounds);
        return 0;
    }

    /** Where a run keeps its files: the split source, both lakehouses and their copies, the logs. */
    record Layout(Path base, Path history, Path dayFile, Path kilnRoot, Path handRoot, LocalDate day) {}

    static Layout layout(String root, LocalDate day) {
        if (!root.startsWith("file:") && root.contains(":")) {
            throw new KilnException("bench daily runs on a local lakehouse root, not " + root);
        }
        Path base = Path.of(java.net.URI.create(root.startsWith("file:") ? root.replaceFirst("^file:/+", "file:///")
                : "file://" + Path.of(root).toAbsolutePath())).resolve("bench/daily");
        return new Layout(base, base.resolve("source/history.parquet"), base.resolve("source/day-" + day + ".parquet"),
                base.resolve("kiln"), base.resolve("hand"), day);
    }

    /** The five tasks of one variant, each a cold process, after the prepared lakehouse is put back. */
    private static List<Task> round(BenchCommand bench, Path kiln, Layout at, Variant v, int round) {
        Path root = v == Variant.HAND ? at.handRoot() : at.kilnRoot();
        delete(root);
        copy(snapshot(root), root);
        String day = at.day().toString();
        List<Task> out = new ArrayList<>();
        for (String task : TASKS) {
            Path log = at.base().resolve(String.format("logs/round%d-%s-%s.log", round, v.name().toLowerCase(), task));
            List<String> command = new ArrayList<>(List.of(kiln.toString()));
            Map<String, String> env = new LinkedHashMap<>();
            if (v == Variant.HAND) {
                command.addAll(List.of("bench", "daily-step", "--step", task, "--day", day));
                command.addAll(bench.passThrough());
            } else {
                env.put("KILN_CDS", v == Variant.KILN ? "1" : "0");
                bench.conf.forEach(c -> command.addAll(List.of("--conf", c)));
                command.addAll(List.of("--conf", "kiln.lakehouse.root=" + root.toUri(), "--conf", "spark.ui.showConsoleProgress=false"));
                command.addAll(switch (task) {
                    case "ingest" -> List.of("ingest", "flights", "--source", at.dayFile().toUri().toString());
                    case "materialize" -> List.of("features", "materialize");
                    case "score" -> List.of("score", "--model", MODEL, "--from", day, "--to", day);
                    case "evaluate" -> List.of("evaluate", "--model", MODEL, "--from", day, "--to", day);
                    case "drift" -> List.of("drift", "--model", MODEL, "--current", day, "--no-fail-on-breach");
                    default -> throw new IllegalStateException(task);
                });
            }
            Path events = root.resolve("spark-events");
            long launched = System.currentTimeMillis();
            double[] times = timed(command, env, log);
            Path eventLog = newest(events, launched);
            long[] marks = eventLog == null ? new long[] {-1, -1} : marks(eventLog);
            Task t = new Task(task, times[0], times[1], marks[0] < 0 ? Double.NaN : (marks[0] - launched) / 1e3,
                    marks[1] < 0 ? Double.NaN : (marks[1] - launched) / 1e3);
            progress(String.format("bench daily: %s %s %s: %.1f s, CPU %.1f s, first Spark job at %.1f s",
                    round == 0 ? "warm-up" : "round " + round, v.label, task, t.wall(), t.cpu(), t.firstJob()));
            out.add(t);
        }
        return out;
    }

    /** Runs a bench daily-step child (preparation), failing with its log's tail. */
    private static void step(BenchCommand bench, Path kiln, Layout at, String step, Map<String, String> env, Path log) {
        List<String> command = new ArrayList<>(List.of(kiln.toString(), "bench", "daily-step", "--step", step, "--day",
                at.day().toString()));
        command.addAll(bench.passThrough());
        timed(command, env, log);
    }

    /** Runs command; returns {wall seconds, CPU seconds of the process and its children}. */
    private static double[] timed(List<String> command, Map<String, String> env, Path log) {
        try {
            Files.createDirectories(log.getParent());
            Path cpu = Files.createTempFile(log.getParent(), "times", ".txt");
            // bash's `times` prints the CPU its children used (user, then system) on its second line.
            ProcessBuilder pb = new ProcessBuilder("bash", "-c", "\"$@\"; rc=$?; times > \"$KILN_BENCH_TIMES\"; exit $rc",
                    "bench-daily");
            pb.command().addAll(command);
            pb.environment().putAll(env);
            pb.environment().put("KILN_BENCH_TIMES", cpu.toString());
            long start = System.nanoTime();
            Process p = pb.redirectErrorStream(true).redirectOutput(log.toFile()).start();
            int rc = p.waitFor();
            double wall = (System.nanoTime() - start) / 1e9;
            if (rc != 0) {
                List<String> lines = Files.readAllLines(log);
                throw new KilnException("bench daily: `" + String.join(" ", command) + "` exited " + rc + "; its log "
                        + log + " ends:\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size())));
            }
            List<String> t = Files.readAllLines(cpu);
            Files.delete(cpu);
            double seconds = 0;
            Matcher m = Pattern.compile("(\\d+)m([0-9.]+)s").matcher(t.get(1));
            while (m.find()) {
                seconds += Integer.parseInt(m.group(1)) * 60 + Double.parseDouble(m.group(2));
            }
            return new double[] {wall, seconds};
        } catch (IOException e) {
            throw new KilnException("bench daily: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KilnException("bench daily interrupted", e);
        }
    }

    /** The event log (file or rolling directory) written after {@code since} (epoch ms), or null. */
    private static Path newest(Path dir, long since) {
        if (!Files.isDirectory(dir)) {
            return null;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toFile().lastModified() >= since - 1000)
                    .max(Comparator.comparingLong(p -> p.toFile().lastModified())).orElse(null);
        } catch (IOException e) {
            return null;
        }
    }

    /** Epoch ms of the application's start and of the first job's submission, from an event log (-1: not found). */
    static long[] marks(Path log) {
        long appStart = -1;
        long firstJob = -1;
        List<Path> files = new ArrayList<>();
        try {
            if (Files.isDirectory(log)) {
                try (Stream<Path> s = Files.list(log)) {
                    s.filter(p -> p.getFileName().toString().startsWith("events_")).sorted(Comparator.comparingInt(
                            p -> Integer.parseInt(p.getFileName().toString().split("_")[1]))).forEach(files::add);
                }
            } else {
                files.add(log);
            }
            Pattern appStartTime = Pattern.compile("\"Event\":\"SparkListenerApplicationStart\".*\"Timestamp\":(\\d+)");
            Pattern jobStart = Pattern.compile("\"Event\":\"SparkListenerJobStart\".*?\"Submission Time\":(\\d+)");
            for (Path f : files) {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(open(f), StandardCharsets.UTF_8))) {
                    for (String line = in.readLine(); line != null && firstJob < 0; line = in.readLine()) {
                        Matcher a = appStartTime.matcher(line);
                        if (appStart < 0 && a.find()) {
                            appStart = Long.parseLong(a.group(1));
                        }
                        Matcher j = jobStart.matcher(line);
                        if (j.find()) {
                            firstJob = Long.parseLong(j.group(1));
                        }
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            return new long[] {appStart, firstJob};
        }
        return new long[] {appStart, firstJob};
    }

    private static InputStream open(Path f) throws IOException {
        InputStream in = Files.newInputStream(f);
        String name = f.getFileName().toString();
        if (name.endsWith(".zstd")) {
            return new com.github.luben.zstd.ZstdInputStream(in);
        }
        return in;
    }

    /**
     * {@code kiln bench daily-step}: one preparation or one hand-written task, in this process. prepare-kiln splits
     * the flights into the days before {@code day} and the day itself, and runs Kiln's reference pipeline on the
     * former; prepare-hand runs the hand-written pipeline on them; the task names run that hand-written task on the day.
     */
    static int step(BenchCommand bench, String step, LocalDate day) {
        PipelineBench.Reference ref = PipelineBench.Reference.of(bench);
        Layout at = layout(ref.root(), day);
        ReferencePipeline.Plan plan = ref.plan();
        if ("prepare-kiln".equals(step)) {
            List<String> overrides = new ArrayList<>(List.of("kiln.lakehouse.root=" + at.kilnRoot().toUri(),
                    "datasets." + plan.dataset() + ".source.path=" + at.history().toUri()));
            overrides.addAll(ref.gridOverrides());
            try (BenchContext ctx = bench.open(overrides)) {
                var flights = ctx.lakehouse().spark().read().parquet(ref.source());
                var date = to_date(col("date"));
                flights.filter(date.lt(lit(java.sql.Date.valueOf(day)))).write().mode("overwrite").parquet(at.history().toString());
                flights.filter(date.equalTo(lit(java.sql.Date.valueOf(day)))).write().mode("overwrite").parquet(at.dayFile().toString());
                new ReferencePipeline(ctx.kiln()).run(plan, new ReferencePipeline.Stages() {
                    @Override
                    public <T> T run(String name, String what, Supplier<T> body, ToLongFunction<T> rows) {
                        ctx.progress("bench daily: preparing Kiln's lakehouse: " + name);
                        return body.get();
                    }
                });
            }
            return 0;
        }
        try (BenchContext ctx = bench.open(List.of("kiln.lakehouse.root=" + at.handRoot().toUri()))) {
            HandPipeline hand = ref.hand(ctx.lakehouse().spark(), at.history().toString(), at.handRoot().toString());
            if ("prepare-hand".equals(step)) {
                hand.run((name, body) -> {
                    ctx.progress("bench daily: preparing the hand-written tables: " + name);
                    body.getAsLong();
                });
                return 0;
            }
            long rows = hand.daily(step, day, at.dayFile().toString());
            ctx.out().printf("bench daily-step %s %s: %,d rows%n", step, day, rows);
        }
        return 0;
    }

    private static void print(Map<Variant, List<List<Task>>> timed, Layout at, int rounds) {
        System.out.println();
        System.out.printf("bench daily: the daily tasks on %s, each a cold process; medians of %d round(s) after a warm-up"
                + " round; flights before that day in both lakehouses (%s)%n", at.day(), rounds, at.base());
        System.out.printf("  %-12s %-24s %8s %8s %12s %12s%n", "task", "variant", "wall", "CPU", "Spark start", "first job");
        Map<Variant, double[]> totals = new LinkedHashMap<>();
        for (String task : TASKS) {
            for (Variant v : Variant.values()) {
                List<Task> runs = timed.get(v).stream().map(r -> r.stream().filter(t -> t.name().equals(task)).findFirst()
                        .orElseThrow()).toList();
                double wall = median(runs.stream().map(Task::wall).toList());
                double cpu = median(runs.stream().map(Task::cpu).toList());
                double start = median(runs.stream().map(Task::sparkStart).toList());
                double first = median(runs.stream().map(Task::firstJob).toList());
                double[] sum = totals.computeIfAbsent(v, k -> new double[4]);
                sum[0] += wall;
                sum[1] += cpu;
                sum[2] += start;
                sum[3] += first;
                System.out.printf("  %-12s %-24s %6.1f s %6.1f s %10.1f s %10.1f s%n", task, v.label, wall, cpu, start, first);
            }
        }
        for (Variant v : Variant.values()) {
            double[] s = totals.get(v);
            System.out.printf("  %-12s %-24s %6.1f s %6.1f s %10.1f s %10.1f s%n", "all five", v.label, s[0], s[1], s[2], s[3]);
        }
        double kiln = totals.get(Variant.KILN)[0];
        double hand = totals.get(Variant.HAND)[0];
        double noArchive = totals.get(Variant.KILN_NO_ARCHIVE)[0];
        System.out.printf("  Kiln / hand-written, wall: %.2fx (no class archive: %.2fx); the class archive saves %.1f s of"
                + " wall and %.1f s of CPU over the five tasks%n", kiln / hand, noArchive / hand, noArchive - kiln,
                totals.get(Variant.KILN_NO_ARCHIVE)[1] - totals.get(Variant.KILN)[1]);
        System.out.println("  Spark start / first job: seconds from the process's launch to the SparkContext's start and to"
                + " its first Spark job (event log)");
    }

    private static double median(List<Double> values) {
        List<Double> v = values.stream().sorted().toList();
        int n = v.size();
        return n % 2 == 1 ? v.get(n / 2) : (v.get(n / 2 - 1) + v.get(n / 2)) / 2;
    }

    private static Path snapshot(Path root) {
        return root.resolveSibling(root.getFileName() + ".prepared");
    }

    private static void copy(Path from, Path to) {
        try {
            Process p = new ProcessBuilder("cp", "-a", from.toString(), to.toString()).inheritIO().start();
            if (p.waitFor() != 0) {
                throw new KilnException("bench daily: cannot copy " + from + " to " + to);
            }
        } catch (IOException e) {
            throw new KilnException("bench daily: cannot copy " + from + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KilnException("bench daily interrupted", e);
        }
    }

    private static void delete(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new KilnException("bench daily: cannot delete " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void progress(String line) {
        System.err.println("[kiln] " + line);
    }
}
