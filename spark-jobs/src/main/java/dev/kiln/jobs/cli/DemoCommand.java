package dev.kiln.jobs.cli;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.ingest.DatasetSpec;
import dev.kiln.lakehouse.ingest.IngestResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Row;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

@Command(name = "demo", description = {
        "Run the example flights pipeline on the configured lakehouse (today: ingest flights-3m into raw.flights).",
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
            ctx.progress("stage 1/1: ingest flights -> raw.flights");
            IngestResult ingest = IngestCommand.ingest(ctx, flights, Optional.empty());
            double ingestSeconds = (System.nanoTime() - start) / 1e9;
            ctx.out().println(ingest.summary());

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
            ctx.out().println("  lakehouse      " + lakehouse.settings().root()
                    + " (tables under tables/, Derby metastore under _metastore/)");
            ctx.out().println();
            ctx.out().println("Try:");
            ctx.out().println("  bin/kiln sql \"SELECT count(*), count(DISTINCT origin) FROM raw.flights\"");
            ctx.out().println("  bin/kiln sql \"SELECT origin, count(*) AS flights, round(avg(delay), 1) AS avg_delay"
                    + " FROM raw.flights GROUP BY origin ORDER BY flights DESC LIMIT 5\"");
            ctx.out().println("  bin/kiln sql \"SELECT job, status, rows_in, rows_out, rows_quarantined, duration_s"
                    + " FROM ops.job_runs ORDER BY started_at DESC LIMIT 5\"");
            ctx.out().println("  bin/kiln tables history raw.flights");
        }
        return ExitCodes.OK;
    }
}
