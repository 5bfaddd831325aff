package dev.kiln.jobs.cli;

import dev.kiln.features.catalog.FeatureCatalog;
import dev.kiln.features.definition.FeatureSetSpec;
import dev.kiln.features.definition.FeatureSets;
import dev.kiln.features.materialize.MaterializedVersion;
import dev.kiln.features.materialize.Materializer;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.runlog.JobRunLog;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "features", description = "Feature sets: materialize, backfill, and read the features.catalog.",
        subcommands = {FeaturesCommand.Materialize.class, FeaturesCommand.Backfill.class, FeaturesCommand.ListSets.class,
                FeaturesCommand.Describe.class})
final class FeaturesCommand implements Runnable {
    @ParentCommand
    KilnCommand parent;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    static MaterializedVersion run(KilnContext ctx, String job, java.util.function.Function<Materializer, MaterializedVersion> body) {
        return ctx.runJob(job, runId -> body.apply(new Materializer(ctx.lakehouse(), ctx::progress)),
                r -> new KilnContext.Rows(null, r.rowsWritten(), null));
    }

    /**
     * Materializes {@code sets} two at a time, each as its own job: one set's Delta commits, catalog update and
     * run-log row overlap the other's Spark work. Results come in the order of {@code sets}; if any set fails,
     * the others still finish and the first failure is thrown (later ones attached to it).
     */
    static List<MaterializedVersion> materializeAll(KilnContext ctx, List<FeatureSetSpec> sets) {
        // Spark and the tables both jobs write to exist before the threads start.
        new FeatureCatalog(ctx.lakehouse()).ensureTable();
        new JobRunLog(ctx.lakehouse()).ensureTable();
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(2, sets.size())));
        try {
            List<Future<MaterializedVersion>> futures = new ArrayList<>();
            for (FeatureSetSpec set : sets) {
                futures.add(pool.submit(() -> run(ctx, "features materialize " + set.name(), m -> m.materialize(set))));
            }
            List<MaterializedVersion> out = new ArrayList<>();
            RuntimeException failure = null;
            for (Future<MaterializedVersion> f : futures) {
                try {
                    out.add(f.get());
                } catch (ExecutionException e) {
                    RuntimeException cause = e.getCause() instanceof RuntimeException r ? r
                            : new KilnException(KilnException.firstLine(e.getCause().getMessage()), e.getCause());
                    if (failure == null) {
                        failure = cause;
                    } else {
                        failure.addSuppressed(cause);
                    }
                }
            }
            if (failure != null) {
                throw failure;
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KilnException("interrupted while materializing feature sets", e);
        } finally {
            pool.shutdownNow();
        }
    }

    @Command(name = "materialize", description = {"Compute the periods of a feature set not materialized yet (all sets"
            + " without a name). A re-run writes nothing."})
    static final class Materialize implements Callable<Integer> {
        @ParentCommand
        FeaturesCommand features;

        @Mixin
        GlobalOptions global;

        @Parameters(arity = "0..*", paramLabel = "SET", description = "Feature sets (default: all).")
        List<String> sets = new ArrayList<>();

        @Override
        public Integer call() {
            try (KilnContext ctx = features.parent.open(global)) {
                FeatureSets all = FeatureSets.parse(ctx.config().config());
                List<String> names = sets.isEmpty() ? new ArrayList<>(all.all().keySet()) : sets;
                List<FeatureSetSpec> specs = names.stream().map(all::get).toList();
                for (MaterializedVersion v : materializeAll(ctx, specs)) {
                    ctx.out().println(v.summary());
                }
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "backfill", description = "Recompute a feature set for the periods of a date range, replacing them.")
    static final class Backfill implements Callable<Integer> {
        @ParentCommand
        FeaturesCommand features;

        @Mixin
        GlobalOptions global;

        @Parameters(paramLabel = "SET")
        String set;

        @Option(names = "--from", required = true, paramLabel = "DATE", description = "First date (yyyy-mm-dd).")
        String from;

        @Option(names = "--to", required = true, paramLabel = "DATE", description = "Last date, inclusive.")
        String to;

        @Override
        public Integer call() {
            LocalDate f = ScoreCommand.date("--from", from);
            LocalDate t = ScoreCommand.date("--to", to);
            try (KilnContext ctx = features.parent.open(global)) {
                FeatureSetSpec spec = FeatureSets.parse(ctx.config().config()).get(set);
                ctx.out().println(run(ctx, "features backfill " + set, m -> m.backfill(spec, f, t)).summary());
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "list", description = "Every materialized feature with its set, version and lineage.")
    static final class ListSets implements Callable<Integer> {
        @ParentCommand
        FeaturesCommand features;

        @Mixin
        GlobalOptions global;

        @Override
        public Integer call() {
            try (KilnContext ctx = features.parent.open(global)) {
                Tables.print(ctx.out(), new FeatureCatalog(ctx.lakehouse()).list().select("feature_set", "version",
                        "feature", "type", "aggregation", "window", "row_count", "null_rate", "materialized_to",
                        "source", "source_version"), 10_000);
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "describe", description = "One feature set (SET or SET:VERSION): definition, features, lineage.")
    static final class Describe implements Callable<Integer> {
        @ParentCommand
        FeaturesCommand features;

        @Mixin
        GlobalOptions global;

        @Parameters(paramLabel = "SET[:VERSION]")
        String ref;

        @Override
        public Integer call() {
            String[] parts = ref.split(":", 2);
            try (KilnContext ctx = features.parent.open(global)) {
                FeatureSetSpec spec = FeatureSets.parse(ctx.config().config()).get(parts[0]);
                int version = parts.length == 2 ? parseVersion(parts[1]) : spec.version();
                ctx.out().printf("%s v%d (configured: v%d)%n  entity %s, source %s, event time %s, grain %s, ttl %s%n"
                                + "  owner %s, tags %s%n  %s%n", spec.name(), version, spec.version(), spec.entity(),
                        spec.sourceDescription(), spec.eventTime(), spec.grain().name().toLowerCase(java.util.Locale.ROOT),
                        spec.ttl(), spec.owner(), spec.tags(), spec.description());
                Tables.print(ctx.out(), new FeatureCatalog(ctx.lakehouse()).list()
                        .filter(org.apache.spark.sql.functions.col("feature_set").equalTo(spec.name())
                                .and(org.apache.spark.sql.functions.col("version").equalTo(version)))
                        .select("feature", "type", "aggregation", "window", "description", "row_count", "null_rate",
                                "materialized_from", "materialized_to", "table_name", "source_version",
                                "definition_hash"), 10_000);
            }
            return ExitCodes.OK;
        }

        private static int parseVersion(String text) {
            try {
                return Integer.parseInt(text.startsWith("v") ? text.substring(1) : text);
            } catch (NumberFormatException e) {
                throw new KilnException("version '" + text + "' is not a number (write set:2 or set:v2)");
            }
        }
    }
}
