package dev.kiln.jobs.cli;

import dev.kiln.features.definition.FeatureSetSpec;
import dev.kiln.features.definition.FeatureSets;
import dev.kiln.features.materialize.MaterializedVersion;
import dev.kiln.lakehouse.KilnException;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "features", mixinStandardHelpOptions = true, description = "Feature sets: materialize, backfill, and read the features.catalog.",
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

    @Command(name = "materialize", mixinStandardHelpOptions = true, description = {"Compute the periods of a feature set not materialized yet (all sets"
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
                FeatureSets declared = FeatureSets.parse(ctx.config().config());
                sets.forEach(declared::get); // unknown names stop here, before Spark starts
                for (MaterializedVersion v : ctx.kiln().materialize(sets)) {
                    ctx.out().println(v.summary());
                }
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "backfill", mixinStandardHelpOptions = true, description = "Recompute a feature set for the periods of a date range, replacing them.")
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
            LocalDate f = Arguments.date("--from", from);
            LocalDate t = Arguments.date("--to", to);
            try (KilnContext ctx = features.parent.open(global)) {
                FeatureSets.parse(ctx.config().config()).get(set);
                ctx.out().println(ctx.kiln().backfill(set, f, t).summary());
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Every materialized feature with its set, version and lineage.")
    static final class ListSets implements Callable<Integer> {
        @ParentCommand
        FeaturesCommand features;

        @Mixin
        GlobalOptions global;

        @Override
        public Integer call() {
            try (KilnContext ctx = features.parent.open(global)) {
                Tables.print(ctx.out(), ctx.kiln().featureCatalog().select("feature_set", "version",
                        "feature", "type", "aggregation", "window", "row_count", "null_rate", "materialized_to",
                        "source", "source_version"), 10_000);
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "describe", mixinStandardHelpOptions = true, description = "One feature set (SET or SET:VERSION): definition, features, lineage.")
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
                Tables.print(ctx.out(), ctx.kiln().featureCatalog()
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
