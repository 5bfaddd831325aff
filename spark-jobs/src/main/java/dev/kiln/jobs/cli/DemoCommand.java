package dev.kiln.jobs.cli;

import dev.kiln.features.definition.FeatureSetSpec;
import dev.kiln.features.definition.FeatureSets;
import dev.kiln.features.materialize.MaterializedVersion;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.ingest.DatasetSpec;
import dev.kiln.lakehouse.ingest.IngestResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Row;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

@Command(name = "demo", description = {
        "Run the example flights pipeline on the configured lakehouse (today: ingest flights-3m into raw.flights,",
        "then materialize its feature sets into features.*).",
        "bin/kiln demo fetches the data first (scripts/fetch-flights.sh)."})
final class DemoCommand implements Callable<Integer> {
    @ParentCommand
    KilnCommand parent;

    @Mixin
    GlobalOptions global;

    @Override
    public Integer call() {
        try (KilnContext ctx = parent.open(global)) {
            DatasetSpec flights = ctx.config().dataset("flights");
            if (!flights.path().contains("*") && !flights.path().contains("://") && !Files.exists(Path.of(flights.path()))) {
                throw new KilnException("flights data not found at " + flights.path()
                        + "; run scripts/fetch-flights.sh (bin/kiln demo does this itself) or set KILN_DATA_DIR");
            }
            Lakehouse lakehouse = ctx.lakehouse();
            long start = System.nanoTime();
            ctx.progress("stage 1/3: ingest flights -> raw.flights");
            IngestResult ingest = IngestCommand.ingest(ctx, flights, Optional.empty());
            double ingestSeconds = (System.nanoTime() - start) / 1e9;
            ctx.out().println(ingest.summary());

            ctx.progress("stage 2/3: materialize feature sets -> features.*");
            long featuresStart = System.nanoTime();
            List<MaterializedVersion> materialized = new ArrayList<>();
            for (FeatureSetSpec set : FeatureSets.parse(ctx.config().config()).all().values()) {
                MaterializedVersion v = FeaturesCommand.run(ctx, "features materialize " + set.name(), m -> m.materialize(set));
                ctx.out().println(v.summary());
                materialized.add(v);
            }
            double featureSeconds = (System.nanoTime() - featuresStart) / 1e9;

            ctx.progress("stage 3/3: point-in-time training set -> features.training__flight_delay__<id>");
            long trainingSetStart = System.nanoTime();
            dev.kiln.features.trainingset.TrainingSet trainingSet = TrainingSetCommand.build(ctx, "flight_delay");
            ctx.out().println(trainingSet.summary());
            double trainingSetSeconds = (System.nanoTime() - trainingSetStart) / 1e9;

            Row stats = lakehouse.spark().sql("SELECT count(*) AS total_rows, count(DISTINCT flight_date) AS days,"
                    + " min(flight_date), max(flight_date) FROM " + flights.tableName().quoted()).first();
            long quarantined = lakehouse.read(flights.quarantineTableName()).count();
            ctx.out().println();
            ctx.out().println("Kiln demo summary");
            ctx.out().printf("  ingest         %6.1f s   %s%n", ingestSeconds, ingest.alreadyCommitted()
                    ? "batch already committed: 0 rows added" : String.format("%,d rows read, %,d written, %,d quarantined",
                    ingest.rowsRead(), ingest.rowsWritten(), ingest.rowsQuarantined()));
            ctx.out().printf("  raw.flights    %,d rows in %d daily partitions (%s .. %s); raw.flights_quarantine %,d rows%n",
                    stats.getLong(0), stats.getLong(1), stats.get(2), stats.get(3), quarantined);
            ctx.out().printf("  features       %6.1f s   %s%n", featureSeconds, materialized.stream()
                    .map(v -> v.wroteNothing() ? v.featureSet() + " up to date" : String.format("%s %,d rows",
                            v.featureSet(), v.rowsWritten())).collect(java.util.stream.Collectors.joining(", ")));
            for (MaterializedVersion v : materialized) {
                ctx.out().printf("  %-40s %,d rows%n", v.table(), lakehouse.read(v.table()).count());
            }
            ctx.out().printf("  training set   %6.1f s   %s%n", trainingSetSeconds, trainingSet.summary());
            ctx.out().println("  lakehouse      " + lakehouse.settings().root()
                    + " (tables under tables/, Derby metastore under _metastore/)");
            ctx.out().println();
            ctx.out().println("Try:");
            ctx.out().println("  bin/kiln sql \"SELECT count(*), count(DISTINCT origin) FROM raw.flights\"");
            ctx.out().println("  bin/kiln sql \"SELECT origin, count(*) AS flights, round(avg(delay), 1) AS avg_delay"
                    + " FROM raw.flights GROUP BY origin ORDER BY flights DESC LIMIT 5\"");
            ctx.out().println("  bin/kiln sql \"SELECT job, status, rows_in, rows_out, rows_quarantined, duration_s"
                    + " FROM ops.job_runs ORDER BY started_at DESC LIMIT 5\"");
            ctx.out().println("  bin/kiln sql \"SELECT feature_set, version, feature, aggregation, window, null_rate, source_version"
                    + " FROM features.catalog ORDER BY feature_set, feature\"");
            ctx.out().println("  bin/kiln sql \"SELECT id, name, row_count, feature_refs, inputs FROM features.training_sets\"");
            ctx.out().println("  bin/kiln tables history raw.flights");
        }
        return ExitCodes.OK;
    }
}
