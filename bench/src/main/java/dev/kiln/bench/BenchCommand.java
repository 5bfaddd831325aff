package dev.kiln.bench;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import dev.kiln.lakehouse.ingest.DatasetSpec;
import dev.kiln.lakehouse.ingest.DerivedColumn;
import dev.kiln.lakehouse.ingest.IngestResult;
import dev.kiln.lakehouse.ingest.Ingestion;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import picocli.CommandLine.Command;
import picocli.CommandLine;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "kiln bench", mixinStandardHelpOptions = true, description = {
        "Measure and print. 'bench pit': the point-in-time join of raw.flights with both flights feature sets",
        "beside a hand-written equi-join on (entity, previous day).",
        "Measure and print. 'bench ingest': Kiln's ingest of a dataset (contract checks, quarantine, audit columns,",
        "partitioning) beside a plain spark.read.parquet(...).write.format(\"delta\") of the same files, in one run.",
        "'bench train': kiln train of one logistic regression at fixed parameters beside the same MLlib pipeline by hand.",
        "'bench drift': kiln drift's statistics over a model's inputs and score (its training set, scored) beside the same",
        "statistics computed one feature at a time.",
        "'bench pipeline': the reference pipeline (the demo's stages with one logistic regression at fixed parameters)",
        "in a fresh lakehouse under <root>/bench/pipeline-x<scale>, time per stage; --scale N replicates the flights",
        "N times with distinct airports; --rounds N runs it N times in the same JVM (the first run is the cold one);",
        "--scale 1,2,4,8 runs each scale in a process of its own and prints time, ratio and peak heap per stage;",
        "--compare runs it beside the same work written by hand (Spark, Delta, MLlib) and prints the ratios.",
        "'bench requests': point-in-time features and scores for 3 flights of one day and for 500,000 flights (time cold",
        "and warm, files read), on the demo lakehouse.",
        "'bench daily': the daily DAG's tasks (ingest, materialize, score, evaluate, drift) on one day, each a cold process,",
        "Kiln's CLI (with and without its class archive) beside the same tasks written by hand: wall, CPU, time to the first",
        "Spark job; both lakehouses built first from the days before (not timed)."})
public final class BenchCommand implements Callable<Integer> {
    @Option(names = "--conf", paramLabel = "KEY=VALUE", description = "Override a config key or pass a Spark setting. Repeatable.")
    List<String> conf = new ArrayList<>();

    @Option(names = "--env", paramLabel = "NAME", description = "Config overlay to load: local (default), cluster, ...")
    String environment;

    @Option(names = "--gpu", description = "Load conf/gpu.conf on top.")
    boolean gpu;

    @Option(names = "--conf-dir", paramLabel = "DIR", description = "Kiln's conf/ directory (default: $KILN_CONF_DIR,"
            + " else <kiln home>/conf, else ./conf).")
    java.nio.file.Path confDir;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec commandSpec;

    /** {@code kiln bench ...}: bin/kiln runs this main class with the bench module on the classpath. */
    public static void main(String[] args) {
        CommandLine cli = new CommandLine(new BenchCommand());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (e instanceof dev.kiln.lakehouse.config.ConfigException) {
                System.err.println("kiln: config error: " + e.getMessage());
                return 2;
            }
            if (e instanceof KilnException) {
                System.err.println("kiln: bench failed: " + e.getMessage());
                return 1;
            }
            System.err.println("kiln: internal error in bench:");
            e.printStackTrace(System.err);
            return 3;
        });
        System.exit(cli.execute(args));
    }

    /** The configuration of these options plus {@code extra} overrides; Spark starts on first use. */
    BenchContext open(List<String> extra) {
        List<String> settings = new ArrayList<>(conf);
        settings.addAll(extra);
        java.util.Map<String, String> overrides = dev.kiln.lakehouse.config.KilnConfigLoader.parseOverrides(settings);
        dev.kiln.lakehouse.config.KilnConfig config = new dev.kiln.lakehouse.config.KilnConfigLoader(confDir())
                .load(environment, gpu ? List.of("gpu") : List.of(), overrides);
        return new BenchContext(config, "bench " + String.join(" ", commandSpec.commandLine().getParseResult().originalArgs()),
                System.out);
    }

    private java.nio.file.Path confDir() {
        if (confDir != null) {
            return confDir;
        }
        String fromEnv = System.getenv("KILN_CONF_DIR");
        if (fromEnv != null && !fromEnv.isBlank()) {
            return java.nio.file.Path.of(fromEnv);
        }
        String home = System.getProperty("kiln.home");
        if (home != null && java.nio.file.Files.isDirectory(java.nio.file.Path.of(home, "conf"))) {
            return java.nio.file.Path.of(home, "conf");
        }
        return java.nio.file.Path.of("conf");
    }

    @Parameters(index = "0", paramLabel = "WHAT", description = "pipeline, ingest, pit, train, drift, requests or daily")
    String what;

    @Option(names = "--dataset", description = "Dataset to ingest (default: ${DEFAULT-VALUE}).")
    String dataset = "flights";

    @Option(names = "--rounds", description = {"Timed rounds of each, after one warm-up round (default: 3).",
            "'bench pipeline': runs of the whole pipeline in this JVM, the first one cold (default: 1); with --compare,",
            "pairs of processes (default: 3)."})
    Integer rounds;

    @Option(names = "--model", description = "Model for 'bench train', 'bench drift' and 'bench requests' (a name, or for"
            + " drift and requests a models:/ URI; default: ${DEFAULT-VALUE}, for those its champion).")
    String model = "flight_delay";

    @Option(names = "--scale", split = ",", paramLabel = "N[,N...]", description = {"'bench pipeline': copies of the flights"
            + " data, 1 to 8 (default: 1).", "Several (--scale 1,2,4,8): one process per scale, then time, ratio to the first"
            + " and peak heap per stage."})
    List<Integer> scale = new ArrayList<>();

    @Option(names = "--compare", description = {"'bench pipeline': Kiln's pipeline and the same work hand-written with Spark,"
            + " Delta and MLlib,", "--rounds pairs of processes (default 3), the order alternating; per-stage and total ratios."})
    boolean compare;

    @Option(names = "--side", paramLabel = "kiln|hand", description = "'bench pipeline' in this JVM: Kiln's (default) or the"
            + " hand-written one.")
    String side = "kiln";

    @Option(names = "--result", paramLabel = "FILE", description = "'bench pipeline': also write the stages (tab-separated) to FILE.")
    java.nio.file.Path result;

    @Option(names = "--held-heap", paramLabel = "S", description = {"'bench pipeline': also measure the heap each stage held:"
            + " a full collection every S seconds", "(and at each stage's end), the most heap left after one. Slows the run:"
            + " a memory measure, not a timing."})
    int heldHeapSeconds;

    /** The options a child run of {@code bench pipeline} inherits: the configuration ones and the heap probe. */
    List<String> passThrough() {
        List<String> out = new ArrayList<>();
        if (heldHeapSeconds > 0) {
            out.addAll(List.of("--held-heap", Integer.toString(heldHeapSeconds)));
        }
        conf.forEach(c -> out.addAll(List.of("--conf", c)));
        if (environment != null) {
            out.addAll(List.of("--env", environment));
        }
        if (gpu) {
            out.add("--gpu");
        }
        if (confDir != null) {
            out.addAll(List.of("--conf-dir", confDir.toString()));
        }
        return out;
    }

    @Option(names = "--day", paramLabel = "DATE", description = "'bench daily': the day the tasks process (default: the last"
            + " day of the reference pipeline's scoring window).")
    java.time.LocalDate day;

    @Option(names = "--step", hidden = true, description = "'bench daily-step' (a child of bench daily): prepare-kiln,"
            + " prepare-hand or a hand-written task.")
    String step;

    @Option(names = "--explain", description = "Print the physical plans of what is measured, then measure.")
    boolean explain;

    @Override
    public Integer call() {
        if (rounds == null) {
            rounds = ("pipeline".equals(what) && !compare) || "daily".equals(what) ? 1 : 3;
        }
        if (rounds < 1) {
            throw new KilnException("--rounds must be 1 or more, got " + rounds);
        }
        if ("pit".equals(what)) {
            return pointInTime();
        }
        if ("train".equals(what)) {
            try (BenchContext ctx = open(List.of())) {
                return TrainBench.run(ctx, model, rounds);
            }
        }
        if ("pipeline".equals(what)) {
            PipelineBench.Side which = switch (side) {
                case "kiln" -> PipelineBench.Side.KILN;
                case "hand" -> PipelineBench.Side.HAND;
                default -> throw new KilnException("--side must be kiln or hand, got '" + side + "'");
            };
            return PipelineBench.run(this, scale.isEmpty() ? List.of(1) : scale, rounds, compare, which,
                    java.util.Optional.ofNullable(result));
        }
        if ("daily".equals(what) || "daily-step".equals(what)) {
            java.time.LocalDate on = day;
            if (on == null) {
                on = PipelineBench.Reference.of(this).plan().scoreTo();
            }
            return "daily".equals(what) ? DailyBench.run(this, rounds, on) : DailyBench.step(this, step, on);
        }
        if ("requests".equals(what)) {
            try (BenchContext ctx = open(List.of())) {
                return RequestBench.run(ctx, model.startsWith("models:/") ? model : "models:/" + model + "@champion", rounds);
            }
        }
        if ("drift".equals(what)) {
            try (BenchContext ctx = open(List.of())) {
                return DriftBench.run(ctx, model.startsWith("models:/") ? model : "models:/" + model + "@champion", rounds);
            }
        }
        if (!"ingest".equals(what)) {
            throw new KilnException("unknown benchmark '" + what + "' (known: pipeline, ingest, pit, train, drift, requests, daily)");
        }
        try (BenchContext ctx = open(List.of())) {
            DatasetSpec spec = ctx.config().dataset(dataset);
            if (!"parquet".equals(spec.format())) {
                throw new KilnException("bench ingest compares against a plain Parquet-to-Delta copy; dataset '"
                        + dataset + "' is " + spec.format());
            }
            Lakehouse lakehouse = ctx.lakehouse();
            DatasetSpec benchSpec = spec.withTable("bench_" + spec.name(), "bench_" + spec.table());
            String plainPath = lakehouse.settings().root() + "/bench/plain_" + spec.table();
            String layoutPath = lakehouse.settings().root() + "/bench/layout_" + spec.table();
            String partitionedPath = lakehouse.settings().root() + "/bench/partitioned_" + spec.table();
            List<Timing> plain = new ArrayList<>();
            List<Timing> partitioned = new ArrayList<>();
            List<Timing> layout = new ArrayList<>();
            List<Timing> kiln = new ArrayList<>();
            long rows = 0;
            for (int round = 0; round <= rounds; round++) {
                String label = round == 0 ? "warm-up" : "round " + round + "/" + rounds;
                drop(lakehouse, benchSpec.tableName(), benchSpec.quarantineTableName(), plainPath, layoutPath, partitionedPath);

                Timing p = Timing.of(() -> lakehouse.spark().read().parquet(spec.path())
                        .write().format("delta").mode("overwrite").save(plainPath));

                // The plain copy plus the derived columns and Kiln's partitioning: what the day partitions cost.
                Timing d = Timing.of(() -> withDerived(lakehouse.spark().read().parquet(spec.path()), spec)
                        .write().format("delta").mode("overwrite").partitionBy(spec.partitionBy().toArray(String[]::new))
                        .option("delta.dataSkippingNumIndexedCols", "0").save(partitionedPath));

                // The same layout as Kiln's table (derived and audit columns, partitioning) without any checks.
                String batch = "bench-" + round;
                Timing l = Timing.of(() -> withDerived(lakehouse.spark().read().parquet(spec.path()), spec)
                            .withColumn("_batch_id", functions.lit(batch))
                            .withColumn("_ingested_at", functions.current_timestamp())
                            .withColumn("_source_file", functions.lit(spec.path()))
                            .write().format("delta").mode("overwrite")
                            .partitionBy(spec.partitionBy().toArray(String[]::new))
                            .option(spec.statsColumns().isEmpty() ? "delta.dataSkippingNumIndexedCols"
                                    : "delta.dataSkippingStatsColumns",
                                    spec.statsColumns().isEmpty() ? "0" : String.join(",", spec.statsColumns()))
                            .save(layoutPath));

                IngestResult[] result = new IngestResult[1];
                Timing k = Timing.of(() -> result[0] = new Ingestion(lakehouse, m -> { }).ingest(benchSpec, Optional.of(batch)));
                IngestResult r = result[0];
                rows = r.rowsRead();
                ctx.progress(String.format("%s: plain %s, partitioned %s, same layout %s, kiln %s (%,d rows: %,d written,"
                        + " %,d quarantined)", label, p, d, l, k, r.rowsRead(), r.rowsWritten(), r.rowsQuarantined()));
                if (round > 0) {
                    plain.add(p);
                    partitioned.add(d);
                    layout.add(l);
                    kiln.add(k);
                }
            }
            drop(lakehouse, benchSpec.tableName(), benchSpec.quarantineTableName(), plainPath, layoutPath, partitionedPath);
            Timing plainMedian = Timing.median(plain);
            Timing partitionedMedian = Timing.median(partitioned);
            Timing layoutMedian = Timing.median(layout);
            Timing kilnMedian = Timing.median(kiln);
            ctx.out().println();
            ctx.out().printf("bench ingest %s (%,d rows, %s, median of %d rounds; wall time, and CPU time of this process)%n",
                    dataset, rows, lakehouse.spark().sparkContext().master(), rounds);
            ctx.out().printf("  plain: read.parquet -> write.format(delta)          %s%n", plainMedian);
            ctx.out().printf("  plain + derived columns, partitionBy %-13s %s%n", spec.partitionBy(), partitionedMedian);
            ctx.out().printf("  same layout, no checks (derived + audit columns,   %s%n", layoutMedian);
            ctx.out().printf("    partitionBy %s)%n", spec.partitionBy());
            ctx.out().printf("  kiln ingest (contract, expectations, quarantine,   %s%n", kilnMedian);
            ctx.out().printf("    audit columns, partitionBy, run bookkeeping)%n");
            ctx.out().printf("  kiln / plain        %5.2fx wall, %5.2fx CPU (target <= 1.30x)%n",
                    kilnMedian.wall() / plainMedian.wall(), kilnMedian.cpu() / plainMedian.cpu());
            ctx.out().printf("  partitioned / plain %5.2fx wall, %5.2fx CPU (what the day partitions cost by themselves)%n",
                    partitionedMedian.wall() / plainMedian.wall(), partitionedMedian.cpu() / plainMedian.cpu());
            ctx.out().printf("  kiln / same layout  %5.2fx wall, %5.2fx CPU (what the checks and bookkeeping cost)%n",
                    kilnMedian.wall() / layoutMedian.wall(), kilnMedian.cpu() / layoutMedian.cpu());
        }
        return 0;
    }

    private static Dataset<Row> withDerived(Dataset<Row> source, DatasetSpec spec) {
        Dataset<Row> derived = source;
        for (DerivedColumn c : spec.derived()) {
            derived = derived.withColumn(c.name(), functions.expr(c.expr()));
        }
        return derived;
    }

    /**
     * The point-in-time join of every flight with both flights feature sets, beside a hand-written
     * equi-join on (entity, previous day) of the same data; both run to Spark's no-op sink.
     */
    private int pointInTime() {
        try (BenchContext ctx = open(List.of())) {
            Lakehouse lakehouse = ctx.lakehouse();
            dev.kiln.features.definition.FeatureSets sets =
                    dev.kiln.features.definition.FeatureSets.parse(ctx.config().config());
            List<dev.kiln.features.pointintime.FeatureRef> refs = new ArrayList<>();
            List<String> setNames = List.of("origin_delay_stats", "route_delay_stats");
            for (String name : setNames) {
                for (var f : sets.get(name).features()) {
                    refs.add(new dev.kiln.features.pointintime.FeatureRef(name, Optional.empty(), f.name()));
                }
            }
            Dataset<Row> events = lakehouse.read(TableName.parse("raw.flights")).select("origin", "destination", "date", "delay");
            dev.kiln.features.pointintime.PointInTimeJoin pit = new dev.kiln.features.pointintime.PointInTimeJoin(lakehouse, sets);
            if (explain) {
                ctx.out().println("== kiln point-in-time join");
                pit.join(events, "date", refs).explain();
                ctx.out().println("== hand-written equi-join");
                handJoin(lakehouse, sets, setNames, events).explain();
            }
            List<Timing> kiln = new ArrayList<>();
            List<Timing> hand = new ArrayList<>();
            for (int round = 0; round <= rounds; round++) {
                Runnable kilnRun = () -> pit.join(events, "date", refs).write().format("noop").mode("overwrite").save();
                Runnable handRun = () -> handJoin(lakehouse, sets, setNames, events).write().format("noop").mode("overwrite").save();
                // Alternate which goes first, so neither always runs on the other's warm caches (or garbage).
                Timing k;
                Timing h;
                if (round % 2 == 0) {
                    k = Timing.of(kilnRun);
                    h = Timing.of(handRun);
                } else {
                    h = Timing.of(handRun);
                    k = Timing.of(kilnRun);
                }
                ctx.progress(String.format("%s: kiln point-in-time %s, hand-written equi-join %s",
                        round == 0 ? "warm-up" : "round " + round + "/" + rounds, k, h));
                if (round > 0) {
                    kiln.add(k);
                    hand.add(h);
                }
            }
            Timing km = Timing.median(kiln);
            Timing hm = Timing.median(hand);
            ctx.out().println();
            ctx.out().printf("bench pit: raw.flights x %s (%d features), median of %d rounds%n", setNames, refs.size(), rounds);
            ctx.out().printf("  hand-written equi-join on (entity, previous day)   %s%n", hm);
            ctx.out().printf("  kiln point-in-time join (TTL, missing indicators)  %s%n", km);
            ctx.out().printf("  kiln / equi-join  %5.2fx wall, %5.2fx CPU (target <= 1.20x)%n", km.wall() / hm.wall(), km.cpu() / hm.cpu());
        }
        return 0;
    }

    /** The baseline: a left equi-join of each set on (entity, start of the previous day), nothing else. */
    private static Dataset<Row> handJoin(Lakehouse lakehouse, dev.kiln.features.definition.FeatureSets sets,
            List<String> setNames, Dataset<Row> events) {
        Dataset<Row> joined = events.withColumn("__prev", functions.expr("cast(date_sub(to_date(date), 1) as timestamp)"));
        for (String name : setNames) {
            var spec = sets.get(name);
            Dataset<Row> f = lakehouse.read(spec.tableName());
            for (String key : spec.entity()) {
                f = f.withColumnRenamed(key, name + "__key_" + key);
            }
            org.apache.spark.sql.Column on = joined.col("__prev").equalTo(f.col("period_start"));
            for (String key : spec.entity()) {
                on = on.and(joined.col(key).equalTo(f.col(name + "__key_" + key)));
            }
            List<org.apache.spark.sql.Column> select = new ArrayList<>();
            for (String c : joined.columns()) {
                select.add(joined.col(c));
            }
            for (var feature : spec.features()) {
                select.add(f.col(feature.name()).as(name + "__" + feature.name()));
            }
            joined = joined.join(f, on, "left").select(select.toArray(org.apache.spark.sql.Column[]::new));
        }
        return joined;
    }

    private static void drop(Lakehouse lakehouse, TableName table, TableName quarantine, String... paths) {
        for (TableName t : List.of(table, quarantine)) {
            lakehouse.spark().sql("DROP TABLE IF EXISTS " + t.quoted());
            lakehouse.forget(t);
            delete(lakehouse, lakehouse.locationOf(t));
        }
        for (String p : paths) {
            delete(lakehouse, p);
        }
    }

    private static void delete(Lakehouse lakehouse, String location) {
        try {
            Path p = new Path(location);
            FileSystem fs = p.getFileSystem(lakehouse.spark().sparkContext().hadoopConfiguration());
            fs.delete(p, true);
        } catch (IOException e) {
            throw new KilnException("cannot delete " + location + ": " + e.getMessage(), e);
        }
    }

    /** Wall-clock and process CPU seconds of one measured run. */
    record Timing(double wall, double cpu) {
        private static final com.sun.management.OperatingSystemMXBean OS =
                (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

        static Timing of(Runnable body) {
            long cpu0 = OS.getProcessCpuTime();
            long t0 = System.nanoTime();
            body.run();
            return new Timing((System.nanoTime() - t0) / 1e9, (OS.getProcessCpuTime() - cpu0) / 1e9);
        }

        static Timing median(List<Timing> timings) {
            return new Timing(middle(timings.stream().map(Timing::wall).toList()),
                    middle(timings.stream().map(Timing::cpu).toList()));
        }

        private static double middle(List<Double> values) {
            List<Double> sorted = new ArrayList<>(values);
            Collections.sort(sorted);
            int n = sorted.size();
            return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
        }

        @Override
        public String toString() {
            return String.format("%6.2f s (CPU %6.2f s)", wall, cpu);
        }
    }
}
