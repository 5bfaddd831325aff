package dev.kiln.lakehouse.ingest;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.col;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import dev.kiln.lakehouse.commit.Commit;
import dev.kiln.lakehouse.fault.CrashPoint;
import dev.kiln.lakehouse.quality.ContractValidation;
import dev.kiln.lakehouse.quality.ValidatedBatch;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;

/**
 * Ingests one batch of a dataset's source files into {@code raw.<table>}, with rows that break the
 * contract in {@code raw.<table>_quarantine}.
 *
 * <p>Commit semantics: each table gets one Delta commit per batch, tagged with Delta's idempotent-write
 * transaction id {@code kiln-ingest:<dataset>:<batch id>}. Re-running a batch that committed adds
 * nothing; a run that crashed between the two commits is completed by re-running it (Delta skips the
 * commit that already happened). The batch id is derived from the matched files (path, size,
 * modification time) unless given, so a re-run over the same files is recognized. Nothing is written
 * when the batch fails before its commits (missing or empty source, unreadable file, contract or
 * schema-evolution refusal, a source column mapping that does not fit the files: see {@link SourceReader}).
 *
 * <p>A file that changes while it is read (its size or modification time after the rows are read differs
 * from the listing) refuses the batch before any commit; a re-run reads the file again, as a new batch. CSV
 * and JSON rows are read once into Spark's storage, so the count, the checks and both commits see the same
 * rows; Parquet files (written whole by their writers, and the large inputs) are not copied: the writes read
 * them again after the check.
 */
public final class Ingestion {
    private static final Pattern BATCH_ID = Pattern.compile("[A-Za-z0-9_.:-]{1,100}");
    private static final int HISTORY_LOOKBACK = 100;
    /** Appended to the data commit's marker: how many rows the batch read. */
    private static final String ROWS_READ = ";rows_read=";
    private static final String STATS_COLUMNS = "delta.dataSkippingStatsColumns";

    private final Lakehouse lakehouse;
    private final Consumer<String> progress;

    public Ingestion(Lakehouse lakehouse, Consumer<String> progress) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
        this.progress = requireNonNull(progress, "progress is null");
    }

    /**
     * The plan of an ingest's main work, not run: the source read and checked against the contract, with
     * the accepted rows as they would be written. For plan reports (which operators a GPU would take).
     */
    public Dataset<Row> plan(DatasetSpec spec) {
        SourceFiles files = SourceFiles.list(spec.path(), lakehouse.spark().sparkContext().hadoopConfiguration());
        return ContractValidation.validate(spec, SourceReader.read(lakehouse.spark(), spec, files), "plan",
                Timestamp.from(Instant.now())).accepted();
    }

    public IngestResult ingest(DatasetSpec spec, Optional<String> explicitBatchId) {
        requireNonNull(spec, "spec is null");
        SparkSession spark = lakehouse.spark();
        TableName table = spec.tableName();
        TableName quarantine = spec.quarantineTableName();

        SourceFiles files = SourceFiles.list(spec.path(), spark.sparkContext().hadoopConfiguration());
        String batchId = explicitBatchId.orElseGet(() -> files.batchId(spec.name()));
        if (!BATCH_ID.matcher(batchId).matches()) {
            throw new KilnException("batch id '" + batchId + "' may hold only letters, digits and _ . : -");
        }
        String appId = "kiln-ingest:" + spec.name() + ":" + batchId;
        String marker = "kiln-batch:" + spec.name() + ":" + batchId;
        progress.accept(String.format("ingest %s: batch %s, %d source file(s) under %s", spec.name(), batchId,
                files.files().size(), spec.path()));

        // The data commit comes first, so without it there is no quarantine commit of this batch either.
        Optional<Commit> dataCommit = batchCommit(table, marker);
        Optional<Commit> quarantineCommit = dataCommit.isPresent() && !acceptedAll(dataCommit.get())
                ? batchCommit(quarantine, marker) : Optional.empty();
        if (dataCommit.isPresent() && (quarantineCommit.isPresent() || acceptedAll(dataCommit.get()))) {
            return new IngestResult(spec.name(), batchId, table, quarantine, files.paths(), 0, 0, 0, true,
                    dataCommit.get().version());
        }

        long started = System.nanoTime();
        Dataset<Row> source = SourceReader.read(spark, spec, files);
        // Text files are read once, into Spark's storage (memory, spilling to disk): the row count, the checks
        // and both writes see the same rows even if a file changes after the check below.
        boolean snapshot = !spec.format().equals("parquet");
        if (snapshot) {
            source = source.persist(StorageLevel.MEMORY_AND_DISK());
        }
        try {
            return write(spec, files, source, batchId, appId, marker, dataCommit, quarantineCommit, started);
        } finally {
            if (snapshot) {
                source.unpersist(false);
            }
        }
    }

    private IngestResult write(DatasetSpec spec, SourceFiles files, Dataset<Row> source, String batchId, String appId,
            String marker, Optional<Commit> dataCommit, Optional<Commit> quarantineCommit, long started) {
        TableName table = spec.tableName();
        TableName quarantine = spec.quarantineTableName();
        long rowsRead;
        try {
            rowsRead = source.count();
        } catch (Exception e) { // SparkException is checked in Java's eyes
            throw new KilnException("cannot read the source files of dataset '" + spec.name() + "': "
                    + rootMessage(e), e);
        }
        if (rowsRead == 0) {
            throw new KilnException("the source files of dataset '" + spec.name() + "' hold no rows ("
                    + String.join(", ", files.paths()) + "); nothing was written");
        }
        progress.accept(String.format("ingest %s: %,d rows to check; writing accepted rows to %s", spec.name(),
                rowsRead, table));
        files.requireUnchanged(lakehouse.spark().sparkContext().hadoopConfiguration());

        Timestamp ingestedAt = Timestamp.from(Instant.now());
        ValidatedBatch batch = ContractValidation.validate(spec, source, batchId, ingestedAt);
        boolean evolve = checkSchemaEvolution(spec, table, batch.accepted().schema());
        lakehouse.createIfMissing(table, batch.accepted().schema(), spec.partitionBy(),
                spec.description().isBlank() ? "Kiln dataset " + spec.name() : spec.description(),
                statsProperties(spec));
        lakehouse.createIfMissing(quarantine, batch.quarantined().schema(), List.of(),
                "Rows of dataset " + spec.name() + " that broke its contract", Map.of());

        long written;
        long quarantined;
        try {
            if (dataCommit.isEmpty()) {
                Commit data = spec.writeMode() == DatasetSpec.WriteMode.MERGE
                        ? merge(spec, table, batch.accepted(), appId, marker + ROWS_READ + rowsRead, evolve)
                        : lakehouse.commits().append(table, batch.accepted())
                                .idempotent(appId, 0)
                                .userMetadata(marker + ROWS_READ + rowsRead)
                                .mergeSchema(evolve)
                                .commit();
                if (data.skipped()) {
                    // Delta skipped the write: this batch's transaction id was committed long enough ago that
                    // its commit is beyond the history Kiln looks at. The batch is already in the table.
                    return new IngestResult(spec.name(), batchId, table, quarantine, files.paths(), 0, 0, 0, true,
                            lakehouse.version(table));
                }
                dataCommit = Optional.of(data);
            }
            written = dataCommit.map(Commit::rowsWritten).orElse(0L);
            progress.accept(String.format("ingest %s: %,d rows written to %s (%.1f s)", spec.name(), written, table,
                    (System.nanoTime() - started) / 1e9));
            CrashPoint.reached(CrashPoint.INGEST_AFTER_DATA_COMMIT);
            if (quarantineCommit.isEmpty() && written < rowsRead) {
                Commit q = lakehouse.commits().append(quarantine, batch.quarantined())
                        .idempotent(appId, 0)
                        .userMetadata(marker)
                        .mergeSchema(true)
                        .commit();
                if (q.skipped()) {
                    throw new KilnException("the quarantine commit of batch " + batchId + " is neither new nor among"
                            + " the last " + HISTORY_LOOKBACK + " commits of " + quarantine + "; check DESCRIBE HISTORY "
                            + quarantine);
                }
                quarantineCommit = Optional.of(q);
            }
            quarantined = quarantineCommit.map(c -> c.metric("numOutputRows")).orElse(0L);
        } catch (KilnException e) {
            throw e;
        } catch (Exception e) {
            throw new KilnException("ingest of dataset '" + spec.name() + "' failed: " + rootMessage(e), e);
        }
        if (written + quarantined != rowsRead) {
            throw new IllegalStateException(String.format("batch %s of %s: rows read %d != written %d + quarantined %d",
                    batchId, spec.name(), rowsRead, written, quarantined));
        }
        progress.accept(String.format("ingest %s: %,d rows quarantined to %s (%.1f s in all)", spec.name(), quarantined,
                quarantine, (System.nanoTime() - started) / 1e9));
        return new IngestResult(spec.name(), batchId, table, quarantine, files.paths(), rowsRead, written, quarantined,
                false, dataCommit.map(Commit::version).orElse(-1L));
    }

    /** Table properties that limit Delta's per-file statistics to the spec's stats columns. */
    private static Map<String, String> statsProperties(DatasetSpec spec) {
        return spec.statsColumns().isEmpty()
                ? Map.of("delta.dataSkippingNumIndexedCols", "0")
                : Map.of(STATS_COLUMNS, String.join(",", spec.statsColumns()));
    }

    /**
     * Refuses type changes and partitioning changes against the existing table; returns whether the
     * write must add columns (allowed for declared contract and derived columns, and for undeclared
     * source columns only when the dataset allows new columns, which validation already checked).
     */
    private boolean checkSchemaEvolution(DatasetSpec spec, TableName table, StructType batchSchema) {
        if (!lakehouse.exists(table)) {
            return false;
        }
        StructType existing = lakehouse.read(table).schema();
        boolean adds = false;
        for (StructField f : batchSchema.fields()) {
            Optional<StructField> current = java.util.Arrays.stream(existing.fields())
                    .filter(e -> e.name().equalsIgnoreCase(f.name())).findFirst();
            if (current.isEmpty()) {
                adds = true;
            } else if (current.get().dataType() instanceof org.apache.spark.sql.types.TimestampNTZType
                    && f.dataType().equals(DataTypes.TimestampType)) {
                throw new KilnException(table + " keeps '" + f.name() + "' as timestamp_ntz (made before Kiln stored event"
                        + " times as UTC timestamp): set datasets." + spec.name() + ".schema's type of '" + f.name()
                        + "' to timestamp_ntz to keep appending, or drop the table and ingest again");
            } else if (!current.get().dataType().equals(f.dataType())) {
                throw new KilnException("column '" + f.name() + "' is " + current.get().dataType().simpleString()
                        + " in " + table + " but " + f.dataType().simpleString() + " in this batch of dataset '"
                        + spec.name() + "'; Kiln refuses type changes (cast in a derived column, or write a new table)");
            }
        }
        List<String> tablePartitions = lakehouse.spark().sql("DESCRIBE DETAIL " + table.quoted())
                .select("partitionColumns").first().getList(0);
        if (!tablePartitions.equals(spec.partitionBy())) {
            throw new KilnException(table + " is partitioned by " + tablePartitions + " but dataset '" + spec.name()
                    + "' says partition-by " + spec.partitionBy() + "; Kiln does not repartition an existing table");
        }
        return adds;
    }

    private Commit merge(DatasetSpec spec, TableName table, Dataset<Row> rows, String appId, String marker, boolean evolve) {
        Column on = null;
        for (String k : spec.keys()) {
            Column eq = col("t.`" + k + "`").equalTo(col("s.`" + k + "`"));
            on = on == null ? eq : on.and(eq);
        }
        return lakehouse.commits().merge(table, rows, on)
                .updateAll()
                .insertAll()
                .schemaEvolution(evolve)
                .idempotent(appId, 0)
                .userMetadata(marker)
                .commit();
    }

    /** A data commit that accepted every row read: the batch needs no quarantine commit. */
    private static boolean acceptedAll(Commit data) {
        int at = data.userMetadata().indexOf(ROWS_READ);
        return at >= 0 && data.rowsWritten() == Long.parseLong(data.userMetadata().substring(at + ROWS_READ.length()));
    }

    /** The recent commit that carries this batch's marker, if there is one. */
    private Optional<Commit> batchCommit(TableName table, String marker) {
        return lakehouse.commits().recent(table, HISTORY_LOOKBACK).stream()
                .filter(c -> c.userMetadata().equals(marker) || c.userMetadata().startsWith(marker + ROWS_READ))
                .findFirst();
    }

    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return KilnException.firstLine(t.getMessage() != null ? t.getMessage() : t.toString());
    }
}
