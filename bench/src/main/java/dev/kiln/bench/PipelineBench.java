package dev.kiln.bench;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.lower;
import static org.apache.spark.sql.functions.substring;

import com.typesafe.config.Config;
import dev.kiln.api.ReferencePipeline;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import dev.kiln.training.spec.Algorithm;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * {@code kiln bench pipeline}: the reference pipeline, timed per stage, in a fresh lakehouse of its own under
 * {@code <root>/bench/pipeline-x<scale>}: ingest flights, materialize both feature sets, build the training set,
 * train one logistic regression at fixed parameters (the first point of its grid), promote it, score June,
 * evaluate June, drift May vs June. Each stage is a job in that lakehouse's {@code ops.job_runs}. With
 * {@code --scale N} the flights are replicated N times with distinct airports (copy i lower-cases the letters
 * of the codes that the bits of i select), so entities, feature rows and events all grow N-fold.
 */
final class PipelineBench {
    static final int MAX_SCALE = 8;

    private PipelineBench() {
    }

    /** Times one stage: {@code body} does its work and answers the rows it moved (negative: not counted). */
    interface StageTimer {
        void run(String name, java.util.function.LongSupplier body);
    }

    /** One stage's figures: seconds, rows, heap, and what Spark, Delta and the catalog did. */
    record Stage(String name, double seconds, long rows, HeapWatch.Peak heap, WorkWatch.Work work) {
        String tsv() {
            return String.join("\t", name, Double.toString(seconds), Long.toString(rows), Long.toString(heap.used()),
                    Long.toString(heap.live()), Long.toString(heap.full()), Long.toString(heap.outside()), work.tsv());
        }

        static Stage parse(String line) {
            String[] f = line.split("\t");
            return new Stage(f[0], Double.parseDouble(f[1]), Long.parseLong(f[2]),
                    new HeapWatch.Peak(Long.parseLong(f[3]), Long.parseLong(f[4]), Long.parseLong(f[5]), Long.parseLong(f[6])),
                    WorkWatch.Work.parse(f, 7));
        }
    }

    /** Which pipeline a run times: Kiln's reference pipeline, or the same work written by hand. */
    enum Side { KILN, HAND }

    /**
     * {@code kiln bench pipeline}. One scale and no comparison: the pipeline runs in this JVM ({@code rounds}
     * times). Several scales ({@code --scale 1,2,4,8}) or {@code --compare}: each run is a process of its own
     * (bin/kiln, the same environment and so the same driver heap), and this one prints the table.
     */
    static int run(BenchCommand bench, List<Integer> scales, int rounds, boolean compare, Side side,
            java.util.Optional<java.nio.file.Path> result) {
        for (int scale : scales) {
            if (scale < 1 || scale > MAX_SCALE) {
                throw new KilnException("--scale must be between 1 and " + MAX_SCALE + ", got " + scale);
            }
        }
        if (compare || scales.size() > 1) {
            if (result.isPresent()) {
                throw new KilnException("--result is for one run of one side at one scale");
            }
            return compare ? ScaleRuns.compare(bench, scales, rounds) : ScaleRuns.scales(bench, scales, side);
        }
        int scale = scales.get(0);
        Reference ref = Reference.of(bench);
        String root = ref.root();
        String source = ref.source();
        ReferencePipeline.Plan plan = ref.plan();
        Map<String, String> fixedGrid = ref.grid();
        String base = root.replaceAll("/+$", "") + "/bench/";
        String benchRoot = base + (side == Side.KILN ? "pipeline-x" : "hand-x") + scale;
        String scaled = base + plan.dataset() + "-x" + scale + ".parquet";
        delete(benchRoot);
        List<String> overrides = new ArrayList<>(List.of("kiln.lakehouse.root=" + benchRoot));
        if (scale > 1) {
            overrides.add("datasets." + plan.dataset() + ".source.path=" + scaled);
        }
        overrides.addAll(ref.gridOverrides());
        try (BenchContext ctx = bench.open(overrides); HeapWatch heap = new HeapWatch(bench.heldHeapSeconds);
                WorkWatch work = new WorkWatch(ctx.lakehouse().spark().sparkContext(), localPath(benchRoot))) {
            Lakehouse lakehouse = ctx.lakehouse();
            if (scale > 1) {
                replicate(ctx, source, scaled, scale);
            }
            List<List<Stage>> runs = new ArrayList<>();
            for (int round = 1; round <= rounds; round++) {
                if (round > 1) {
                    ctx.progress(String.format("bench pipeline: round %d/%d, in this JVM on an emptied lakehouse", round, rounds));
                    if (side == Side.KILN) {
                        reset(lakehouse, benchRoot);
                    } else {
                        delete(benchRoot);
                    }
                }
                if (side == Side.KILN) {
                    runs.add(stages(ctx, plan, heap, work));
                } else {
                    List<Stage> stages = new ArrayList<>();
                    ref.hand(lakehouse.spark(), scale == 1 ? source : scaled, benchRoot).run(timer(ctx, heap, work, stages, 7));
                    runs.add(stages);
                }
            }
            if (result.isPresent()) {
                List<String> lines = runs.get(0).stream().map(Stage::tsv).toList();
                try {
                    java.nio.file.Files.write(result.get(), lines);
                } catch (IOException e) {
                    throw new KilnException("cannot write " + result.get() + ": " + e.getMessage(), e);
                }
            }
            List<Stage> stages = runs.get(0);
            double total = stages.stream().mapToDouble(Stage::seconds).sum();
            ctx.out().println();
            ctx.out().printf("bench pipeline%s: flights x%d (%s), logistic regression %s, %s %s, heap %s%n",
                    side == Side.HAND ? " (hand-written)" : "", scale, scale == 1 ? source : scaled, fixedGrid,
                    side == Side.KILN ? "lakehouse" : "tables under", benchRoot, HeapWatch.mib(Runtime.getRuntime().maxMemory()));
            if (runs.size() == 1) {
                printWork(ctx.out(), stages);
                boolean held = heap.probing();
                ctx.out().printf("  %-13s %9s  %14s  %11s  %11s%s%n", "stage", "time", "rows", "peak heap", "peak live",
                        held ? String.format("  %11s  %11s", "held", "outside") : "");
                for (Stage st : stages) {
                    ctx.out().printf("  %-13s %7.1f s  %14s  %11s  %11s%s%n", st.name(), st.seconds(),
                            st.rows() < 0 ? "-" : String.format("%,d", st.rows()), HeapWatch.mib(st.heap().used()),
                            HeapWatch.mib(st.heap().live()), held ? String.format("  %11s  %11s", HeapWatch.mib(st.heap().full()),
                                    HeapWatch.mib(st.heap().outside())) : "");
                }
                HeapWatch.Peak all = stages.stream().map(Stage::heap).reduce(HeapWatch.Peak.NONE, HeapWatch.Peak::max);
                ctx.out().printf("  %-13s %7.1f s  %14s  %11s  %11s%s%n", "total", total, "", HeapWatch.mib(all.used()),
                        HeapWatch.mib(all.live()), held ? String.format("  %11s  %11s", HeapWatch.mib(all.full()),
                                HeapWatch.mib(all.outside())) : "");
                ctx.out().printf("  peak heap: the most heap in use, garbage included; peak live: the most in use right after"
                        + " a collection%s%n", held ? "; " + HeapWatch.heldLegend(bench.heldHeapSeconds) : "");
            } else {
                StringBuilder head = new StringBuilder(String.format("  %-13s %9s", "", "round 1"));
                for (int r = 2; r <= runs.size(); r++) {
                    head.append(String.format(" %9s", "round " + r));
                }
                ctx.out().println(head.append(String.format("  %14s", "rows")));
                for (int i = 0; i < stages.size(); i++) {
                    int k = i;
                    StringBuilder line = new StringBuilder(String.format("  %-13s", stages.get(i).name()));
                    runs.forEach(run -> line.append(String.format(" %7.1f s", run.get(k).seconds())));
                    ctx.out().println(line.append(String.format("  %,14d", stages.get(i).rows())));
                }
                StringBuilder line = new StringBuilder(String.format("  %-13s", "total"));
                runs.forEach(run -> line.append(String.format(" %7.1f s", run.stream().mapToDouble(Stage::seconds).sum())));
                ctx.out().println(line);
                ctx.out().printf("  round 1 is the cold run (a new JVM, as every spark-submit); the others ran in the same"
                        + " JVM after it, on an emptied lakehouse%n");
            }
            if (side == Side.KILN) {
                ctx.out().printf("  per job: bin/kiln sql --conf kiln.lakehouse.root=%s \"SELECT job, duration_s FROM ops.job_runs"
                        + " ORDER BY started_at\"%n", benchRoot);
            }
        }
        return 0;
    }

    /**
     * What a bench of the reference pipeline reads from the configuration (no Spark started): the lakehouse root, the
     * dataset's source, the plan with one logistic regression, its grid's first point, the model's windows.
     */
    record Reference(String root, String source, ReferencePipeline.Plan plan, Map<String, String> grid,
            dev.kiln.training.spec.ModelSpec modelSpec) {
        static Reference of(BenchCommand bench) {
            try (BenchContext probe = bench.open(List.of())) {
                ReferencePipeline.Plan plan = ReferencePipeline.Plan.parse(probe.config().config()).single(Algorithm.LOGISTIC_REGRESSION);
                Map<String, String> grid = new LinkedHashMap<>();
                Config g = probe.config().config().getConfig("models." + plan.model() + ".grids.logistic-regression");
                g.root().keySet().forEach(k -> grid.put(k, g.getList(k).get(0).render()));
                return new Reference(probe.config().lakehouse().root(), probe.config().dataset(plan.dataset()).path(), plan,
                        grid, dev.kiln.training.spec.ModelSpec.parse(probe.config().config(), plan.model()));
            }
        }

        /** Settings that fix the model's grid to its first point (Kiln's side trains what the hand-written side does). */
        List<String> gridOverrides() {
            List<String> out = new ArrayList<>();
            grid.forEach((k, v) -> out.add("models." + plan.model() + ".grids.logistic-regression." + k + "=[" + v + "]"));
            return out;
        }

        /** The hand-written pipeline over {@code source}, its tables under {@code root}, with this plan's windows. */
        HandPipeline hand(org.apache.spark.sql.SparkSession spark, String source, String root) {
            return new HandPipeline(spark, source, root, modelSpec.trainUntil(), modelSpec.validateUntil(), plan.scoreFrom(),
                    plan.scoreTo(), plan.driftReference().from(), plan.driftReference().to(), grid);
        }
    }

    private static StageTimer timer(BenchContext ctx, HeapWatch heap, WorkWatch work, List<Stage> stages, int count) {
        return (name, body) -> {
            ctx.progress(String.format("bench pipeline: stage %d/%d %s", stages.size() + 1, count, name));
            heap.begin();
            work.begin();
            long start = System.nanoTime();
            long rows = body.getAsLong();
            double seconds = (System.nanoTime() - start) / 1e9;
            stages.add(new Stage(name, seconds, rows, heap.end(), work.end(seconds)));
            ctx.progress(String.format("bench pipeline: %s took %.1f s", name, seconds));
        };
    }

    /** One run of the reference pipeline in ctx's lakehouse: seconds, rows and heap per stage. */
    private static List<Stage> stages(BenchContext ctx, ReferencePipeline.Plan plan, HeapWatch heap, WorkWatch work) {
        List<Stage> stages = new ArrayList<>();
        StageTimer timer = timer(ctx, heap, work, stages, plan.stageNames().size());
        new ReferencePipeline(ctx.kiln()).run(plan, new ReferencePipeline.Stages() {
            @Override
            public <T> T run(String name, String what, Supplier<T> body, ToLongFunction<T> rows) {
                List<T> out = new ArrayList<>(1);
                timer.run(name, () -> {
                    T result = body.get();
                    out.add(result);
                    return rows.applyAsLong(result);
                });
                return out.get(0);
            }
        });
        return stages;
    }

    /**
     * Empties the bench lakehouse between rounds without a new JVM: drops every Kiln table and view (the tables
     * are external, so their files stay), deletes the table and model directories, and forgets Delta's cached logs.
     */
    private static void reset(Lakehouse lakehouse, String benchRoot) {
        for (TableName t : lakehouse.tables()) {
            boolean view;
            try {
                view = "VIEW".equals(lakehouse.spark().catalog().getTable(t.schema(), t.table()).tableType());
            } catch (Exception e) { // AnalysisException is checked in Java's eyes
                throw new KilnException("cannot empty the bench lakehouse at " + t + ": " + e.getMessage(), e);
            }
            lakehouse.spark().sql((view ? "DROP VIEW IF EXISTS " : "DROP TABLE IF EXISTS ") + t.quoted());
            lakehouse.forget(t);
        }
        lakehouse.spark().catalog().clearCache();
        org.apache.spark.sql.delta.DeltaLog.clearCache();
        for (String dir : List.of("tables", "models")) {
            delete(benchRoot + "/" + dir);
        }
    }

    /** The local directory of a {@code file:} root (Delta commits are counted there); elsewhere none. */
    private static java.nio.file.Path localPath(String root) {
        return root.startsWith("file:") ? java.nio.file.Path.of(java.net.URI.create(root.replaceFirst("^file:/+", "file:///")))
                : java.nio.file.Path.of("/nonexistent-kiln-bench-root");
    }

    /** Where each stage's time went: Spark jobs, stages, tasks, commits, metastore calls, bytes, driver-only time. */
    static void printWork(java.io.PrintStream out, List<Stage> stages) {
        out.printf("  %-13s %8s %6s %6s %7s %8s %9s %9s %9s %11s%n", "work", "time", "jobs", "stages", "tasks", "commits",
                "metastore", "MB read", "MB written", "driver-only");
        for (Stage st : stages) {
            WorkWatch.Work w = st.work();
            out.printf("  %-13s %6.1f s %6d %6d %7d %8d %9d %9.1f %9.1f %9.1f s%n", st.name(), st.seconds(), w.jobs(), w.stages(),
                    w.tasks(), w.commits(), w.metastoreCalls(), w.bytesRead() / 1048576.0, w.bytesWritten() / 1048576.0,
                    w.driverOnlySeconds());
        }
        out.println("  stages: run, not skipped; MB read/written: files (shuffle not included); metastore: Hive client calls;"
                + " driver-only: time with no Spark job running");
    }

    /** N copies of the flights with distinct airport codes, written once and kept (not timed). */
    private static void replicate(BenchContext ctx, String source, String target, int scale) {
        Lakehouse lakehouse = ctx.lakehouse();
        try {
            Path path = new Path(target);
            FileSystem fs = path.getFileSystem(lakehouse.spark().sparkContext().hadoopConfiguration());
            if (fs.exists(new Path(target, "_SUCCESS"))) {
                return;
            }
        } catch (IOException e) {
            throw new KilnException("cannot read " + target + ": " + e.getMessage(), e);
        }
        ctx.progress("bench pipeline: writing " + scale + " copies of the flights with distinct airports to " + target + " (not timed)");
        Dataset<Row> flights = lakehouse.spark().read().parquet(source);
        Dataset<Row> all = null;
        for (int i = 0; i < scale; i++) {
            Dataset<Row> copy = flights.withColumn("origin", variant(col("origin"), i))
                    .withColumn("destination", variant(col("destination"), i));
            all = all == null ? copy : all.unionByName(copy);
        }
        all.write().mode("overwrite").parquet(target);
    }

    /** Copy i of an airport code: the first three letters lower-cased where the bits of i say so. */
    private static Column variant(Column code, int i) {
        List<Column> parts = new ArrayList<>();
        for (int b = 0; b < 3; b++) {
            Column letter = b < 2 ? substring(code, b + 1, 1) : substring(code, 3, 100);
            parts.add((i & (1 << b)) != 0 ? lower(letter) : letter);
        }
        return concat(parts.toArray(Column[]::new));
    }

    private static void delete(String location) {
        try {
            // An instance of its own: a cached one made from a bare Configuration would outlive this call and
            // be handed to Spark later in place of the file system its configuration names.
            Path path = new Path(location);
            try (FileSystem fs = FileSystem.newInstance(path.toUri(), new org.apache.hadoop.conf.Configuration())) {
                if (fs.exists(path)) {
                    fs.delete(path, true);
                }
            }
        } catch (IOException e) {
            throw new KilnException("cannot delete " + location + ": " + e.getMessage(), e);
        }
    }
}
