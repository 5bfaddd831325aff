package dev.kiln.lakehouse.commit;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import dev.kiln.lakehouse.fault.CrashPoint;
import io.delta.tables.DeltaMergeBuilder;
import io.delta.tables.DeltaTable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.DataFrameWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The one place Kiln commits to Delta. Each operation is built fluently and committed at the end, and returns the
 * {@link Commit} it made (version and Delta's operation metrics, found in the table's history by the commit's own
 * user metadata, so a concurrent commit is never mistaken for it):
 * <ul>
 *   <li>{@link #append}: adds rows; with {@link Append#idempotent} a re-run of the same transaction writes nothing
 *       (Delta's {@code txnAppId}/{@code txnVersion}) and returns the commit that did write it, or
 *       {@link Commit#skipped()} when that one is too far back in the history.
 *   <li>{@link #replace}: atomically replaces the rows a typed {@link Predicate} selects ({@code replaceWhere}); a
 *       re-run leaves the same rows.
 *   <li>{@link #overwrite}: replaces the whole table, creating and registering it where it is missing.
 *   <li>{@link #merge}: Delta's MERGE, target aliased {@code t} and source {@code s}.
 *   <li>{@link #delete}: removes the rows a condition selects.
 * </ul>
 * Every operation runs under the lakehouse's one {@link ConflictRetry} policy ({@code kiln.commit.*}): a commit that
 * loses a race to a concurrent one (another job, another process) is tried again on the table as that one left it.
 * An {@link Operation#afterCommit crash point} can follow the commit, for the crash-safety tests.
 */
public final class TableCommits {
    /** How far back in a table's history the commit just made is looked for (concurrent commits may follow it). */
    private static final int LOOKBACK = 100;

    private static final String USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata";
    private static final String TXN_APP_ID = "spark.databricks.delta.write.txnAppId";
    private static final String TXN_VERSION = "spark.databricks.delta.write.txnVersion";

    private final Lakehouse lakehouse;
    private final ConflictRetry retry;
    /**
     * MERGE, UPDATE and DELETE take a commit's user metadata and transaction from session settings: they go on a
     * session of the committing thread's own (same SparkContext and catalog, made once per thread), never on the one
     * other jobs run on, and are cleared after each commit.
     */
    private final ThreadLocal<SparkSession> commitSessions;

    public TableCommits(Lakehouse lakehouse, ConflictRetry retry) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
        this.retry = requireNonNull(retry, "retry is null");
        this.commitSessions = ThreadLocal.withInitial(() -> lakehouse.spark().newSession());
    }

    public ConflictRetry retry() {
        return retry;
    }

    public Append append(TableName table, Dataset<Row> rows) {
        return new Append(table, rows);
    }

    public Replace replace(TableName table, Dataset<Row> rows, Predicate where) {
        return new Replace(table, rows, where);
    }

    public Overwrite overwrite(TableName table, Dataset<Row> rows) {
        return new Overwrite(table, rows);
    }

    /** A MERGE of {@code source} (alias {@code s}) into {@code table} (alias {@code t}) on {@code on}. */
    public Merge merge(TableName table, Dataset<Row> source, Column on) {
        return new Merge(table, source, on);
    }

    public Delete delete(TableName table, Column where) {
        return new Delete(table, where);
    }

    /** An UPDATE of the rows {@code where} selects: {@code set} maps columns to their new values. */
    public Update update(TableName table, Column where, Map<String, Column> set) {
        return new Update(table, where, set);
    }

    /** The table's newest commits, newest first, at most {@code n}; empty when the table does not exist. */
    public List<Commit> recent(TableName table, int n) {
        // By path, as every commit here: no metastore round trip.
        if (!DeltaTable.isDeltaTable(lakehouse.spark(), lakehouse.locationOf(table))) {
            return List.of();
        }
        return history(table, n);
    }

    /** The newest commits of a table that exists. */
    private List<Commit> history(TableName table, int n) {
        Row[] rows = (Row[]) DeltaTable.forPath(lakehouse.spark(), lakehouse.locationOf(table)).history(n)
                .select("version", "operation", "operationMetrics", "userMetadata").collect();
        List<Commit> out = new ArrayList<>();
        for (Row r : rows) {
            out.add(new Commit(table, r.getLong(0), r.getString(1), r.isNullAt(2) ? Map.of() : r.getJavaMap(2),
                    r.isNullAt(3) ? "" : r.getString(3)));
        }
        return out;
    }

    /**
     * The recent commit whose user metadata is {@code userMetadata}, if there is one, through the table's history: the
     * newest commit first, then further back, so that a lookup reads few log files.
     */
    public Optional<Commit> find(TableName table, String userMetadata) {
        if (!DeltaTable.isDeltaTable(lakehouse.spark(), lakehouse.locationOf(table))) {
            return Optional.empty();
        }
        for (int n : new int[] {1, 10, LOOKBACK}) {
            List<Commit> recent = history(table, n);
            Optional<Commit> found = recent.stream().filter(c -> c.userMetadata().equals(userMetadata)).findFirst();
            if (found.isPresent() || recent.size() < n) {
                return found;
            }
        }
        return Optional.empty();
    }

    /** The table's newest version as this JVM knows it; -1 when it has none yet. */
    private long knownVersion(TableName table) {
        return org.apache.spark.sql.delta.DeltaLog.forTable(lakehouse.spark(), lakehouse.locationOf(table))
                .unsafeVolatileSnapshot().version();
    }

    /**
     * The commit marked {@code userMetadata} among the versions after {@code before}, read one commit file each from
     * the newest as this JVM knows it (Delta installs a commit's snapshot in the JVM that made it); through the
     * history when more than {@value #WALK} versions came in between.
     */
    private Optional<Commit> findSince(TableName table, String userMetadata, long before) {
        long latest = knownVersion(table);
        for (long v = latest; v > before && v > latest - WALK; v--) {
            Optional<Commit> c = commitFile(table, v);
            if (c.isPresent() && c.get().userMetadata().equals(userMetadata)) {
                return c;
            }
        }
        return latest - before > WALK ? find(table, userMetadata) : Optional.empty();
    }

    /** Versions read one by one after a commit before the history is asked instead. */
    private static final int WALK = 20;
    private static final String CALL_SITE_SHORT = "callSite.short";

    /** Where the caller of the commit path stands in its source, e.g. {@code Ingestion.java:153}. */
    private static String caller() {
        return StackWalker.getInstance().walk(frames -> frames
                .filter(f -> !f.getClassName().startsWith(TableCommits.class.getPackageName() + "."))
                .findFirst()
                .map(f -> f.getFileName() + ":" + f.getLineNumber())
                .orElse("?"));
    }

    /** The commit info of one version, read from its commit file ({@code _delta_log/<version>.json}); empty if gone. */
    private Optional<Commit> commitFile(TableName table, long version) {
        org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(lakehouse.locationOf(table) + "/_delta_log/"
                + String.format("%020d.json", version));
        try {
            org.apache.hadoop.fs.FileSystem fs = file.getFileSystem(lakehouse.spark().sparkContext().hadoopConfiguration());
            try (java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(fs.open(file),
                    java.nio.charset.StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    com.fasterxml.jackson.databind.JsonNode info = JSON.readTree(line).path("commitInfo");
                    if (info.isObject()) {
                        Map<String, String> metrics = new java.util.TreeMap<>();
                        info.path("operationMetrics").fields().forEachRemaining(e -> metrics.put(e.getKey(), e.getValue().asText()));
                        return Optional.of(new Commit(table, version, info.path("operation").asText(""), metrics,
                                info.path("userMetadata").asText("")));
                    }
                }
            }
        } catch (java.io.FileNotFoundException e) {
            return Optional.empty();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("reading commit " + version + " of " + table, e);
        }
        return Optional.empty();
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    /** What every operation shares: the table, user metadata that identifies its commit, a crash point after it. */
    public abstract class Operation<SELF extends Operation<SELF>> {
        final TableName table;
        String userMetadata;
        Optional<String> crashPoint = Optional.empty();

        Operation(TableName table) {
            this.table = requireNonNull(table, "table is null");
        }

        @SuppressWarnings("unchecked")
        private SELF self() {
            return (SELF) this;
        }

        /** Text recorded with the commit (DESCRIBE HISTORY's userMetadata); unique per commit unless meant to match. */
        public SELF userMetadata(String text) {
            this.userMetadata = requireNonNull(text, "text is null");
            return self();
        }

        /** A {@link CrashPoint} reached once the commit is made. */
        public SELF afterCommit(String point) {
            this.crashPoint = Optional.of(point);
            return self();
        }

        /** Commits, trying again while concurrent commits win (the lakehouse's policy). */
        public Commit commit() {
            String marker = marker();
            Commit done = retry.run(verb() + " " + table, () -> once(marker));
            crashPoint.ifPresent(CrashPoint::reached);
            return done;
        }

        /**
         * One try, no retry: for callers whose own attempt (under {@link TableCommits#retry()}) holds more than this
         * commit. A conflict is thrown as Delta raised it.
         */
        public Commit commitOnce() {
            Commit done = once(marker());
            crashPoint.ifPresent(CrashPoint::reached);
            return done;
        }

        abstract String verb();

        private String marker() {
            return userMetadata != null ? userMetadata : defaultMarker();
        }

        /** The user metadata of a commit the caller did not name: unique, so the commit is found as this one's. */
        String defaultMarker() {
            return "kiln " + verb() + " " + UUID.randomUUID();
        }

        /**
         * One try: the write, named in Spark's UI and event log after what it commits and who asked ("appending to
         * raw.flights at Ingestion.java:153", not the commit path's own line), then the commit it made, found among
         * the versions after the one this JVM knew before; none when Delta committed nothing (an idempotent
         * transaction committed before, a MERGE, UPDATE or DELETE that changed no row).
         */
        private Commit once(String marker) {
            long before = knownVersion(table);
            org.apache.spark.SparkContext sc = lakehouse.spark().sparkContext();
            String previous = sc.getLocalProperty(CALL_SITE_SHORT);
            sc.setCallSite(verb() + " " + table + " at " + caller());
            try {
                write(marker);
            } finally {
                sc.setLocalProperty(CALL_SITE_SHORT, previous);
            }
            Commit done = findSince(table, marker, before).or(() -> earlier(marker)).orElse(Commit.skipped(table, marker));
            lakehouse.committed(table, done.version());
            return done;
        }

        /** The write itself, its commit marked {@code marker}. */
        abstract void write(String marker);

        /** The commit that made this one unnecessary, when the write committed nothing. */
        Optional<Commit> earlier(String marker) {
            return Optional.empty();
        }

        /**
         * Runs {@code command} on this thread's commit session with the commit's user metadata (and, where given, the
         * idempotent transaction) set, and clears them after.
         */
        void onCommitSession(String marker, Optional<String> appId, long txnVersion,
                java.util.function.Consumer<SparkSession> command) {
            SparkSession spark = commitSessions.get();
            spark.conf().set(USER_METADATA, marker);
            appId.ifPresent(id -> {
                spark.conf().set(TXN_APP_ID, id);
                spark.conf().set(TXN_VERSION, String.valueOf(txnVersion));
            });
            try {
                command.accept(spark);
            } finally {
                spark.conf().unset(USER_METADATA);
                spark.conf().unset(TXN_APP_ID);
                spark.conf().unset(TXN_VERSION);
            }
        }


        String location() {
            return lakehouse.locationOf(table);
        }
    }

    /** An operation that can be one of Delta's idempotent writes (a transaction app id and version). */
    public abstract class IdempotentOperation<SELF extends IdempotentOperation<SELF>> extends Operation<SELF> {
        Optional<String> appId = Optional.empty();
        long txnVersion;

        IdempotentOperation(TableName table) {
            super(table);
        }

        /**
         * Delta's idempotent write: a transaction (app id, version) already committed to the table writes nothing, and
         * the commit returned is the one that wrote it (found by the transaction's name in the history).
         */
        @SuppressWarnings("unchecked")
        public SELF idempotent(String appId, long version) {
            this.appId = Optional.of(appId);
            this.txnVersion = version;
            return (SELF) this;
        }

        @Override
        String defaultMarker() {
            return appId.map(id -> "kiln txn " + id + "@" + txnVersion).orElseGet(super::defaultMarker);
        }

        /** Delta skipped an idempotent write whose transaction committed before: that commit, found by its marker. */
        @Override
        Optional<Commit> earlier(String marker) {
            return appId.isPresent() ? find(table, marker) : Optional.empty();
        }

    }

    /** Adds rows. */
    public final class Append extends IdempotentOperation<Append> {
        private final Dataset<Row> rows;
        private boolean mergeSchema;

        Append(TableName table, Dataset<Row> rows) {
            super(table);
            this.rows = requireNonNull(rows, "rows is null");
        }

        /** Lets the write add columns the table does not have yet. */
        public Append mergeSchema(boolean on) {
            this.mergeSchema = on;
            return this;
        }

        @Override
        String verb() {
            return "appending to";
        }

        @Override
        void write(String marker) {
            DataFrameWriter<Row> w = rows.write().format("delta").mode("append").option("userMetadata", marker);
            if (appId.isPresent()) {
                w = w.option("txnAppId", appId.get()).option("txnVersion", String.valueOf(txnVersion));
            }
            if (mergeSchema) {
                w = w.option("mergeSchema", "true");
            }
            w.save(location());
        }
    }

    /** Replaces the rows a predicate selects with new ones, atomically. */
    public final class Replace extends Operation<Replace> {
        private final Dataset<Row> rows;
        private final Predicate where;
        private boolean mergeSchema;

        Replace(TableName table, Dataset<Row> rows, Predicate where) {
            super(table);
            this.rows = requireNonNull(rows, "rows is null");
            this.where = requireNonNull(where, "where is null");
        }

        public Replace mergeSchema(boolean on) {
            this.mergeSchema = on;
            return this;
        }

        @Override
        String verb() {
            return "replacing rows of";
        }

        @Override
        void write(String marker) {
            DataFrameWriter<Row> w = rows.write().format("delta").mode("overwrite").option("replaceWhere", where.toString())
                    .option("userMetadata", marker);
            if (mergeSchema) {
                w = w.option("mergeSchema", "true");
            }
            w.save(location());
        }
    }

    /** Replaces the whole table, creating it (files under the lakehouse root, registered by name) where missing. */
    public final class Overwrite extends Operation<Overwrite> {
        private final Dataset<Row> rows;
        private List<String> partitionBy = List.of();
        private boolean overwriteSchema;

        Overwrite(TableName table, Dataset<Row> rows) {
            super(table);
            this.rows = requireNonNull(rows, "rows is null");
        }

        public Overwrite partitionBy(List<String> columns) {
            this.partitionBy = List.copyOf(columns);
            return this;
        }

        /** Lets the new rows' schema replace the table's. */
        public Overwrite overwriteSchema() {
            this.overwriteSchema = true;
            return this;
        }

        @Override
        String verb() {
            return "writing";
        }

        @Override
        void write(String marker) {
            lakehouse.ensureSchema(table.schema());
            DataFrameWriter<Row> w = rows.write().format("delta").mode("overwrite").option("userMetadata", marker)
                    .option("path", location());
            if (overwriteSchema) {
                w = w.option("overwriteSchema", "true");
            }
            if (!partitionBy.isEmpty()) {
                w = w.partitionBy(partitionBy.toArray(String[]::new));
            }
            w.saveAsTable(table.toString());
        }
    }

    /** Delta's MERGE; the target is {@code t}, the source {@code s}. */
    public final class Merge extends IdempotentOperation<Merge> {
        private final Dataset<Row> source;
        private final Column on;
        private Optional<Map<String, Column>> whenMatched = Optional.empty();
        private boolean insertMissing;
        private boolean schemaEvolution;

        Merge(TableName table, Dataset<Row> source, Column on) {
            super(table);
            this.source = requireNonNull(source, "source is null");
            this.on = requireNonNull(on, "on is null");
        }

        /** Matched rows take every source column. */
        public Merge updateAll() {
            this.whenMatched = Optional.of(Map.of());
            return this;
        }

        /** Matched rows take these assignments (target column -> value). */
        public Merge update(Map<String, Column> set) {
            this.whenMatched = Optional.of(new LinkedHashMap<>(set));
            return this;
        }

        /** Source rows with no match are inserted. */
        public Merge insertAll() {
            this.insertMissing = true;
            return this;
        }

        /** Lets the MERGE add the source's new columns to the table. */
        public Merge schemaEvolution(boolean on) {
            this.schemaEvolution = on;
            return this;
        }

        @Override
        String verb() {
            return "merging into";
        }

        @Override
        void write(String marker) {
            onCommitSession(marker, appId, txnVersion, spark -> {
                DeltaMergeBuilder builder = DeltaTable.forPath(spark, location()).as("t").merge(source.as("s"), on);
                if (whenMatched.isPresent()) {
                    builder = whenMatched.get().isEmpty() ? builder.whenMatched().updateAll()
                            : builder.whenMatched().update(whenMatched.get());
                }
                if (insertMissing) {
                    builder = builder.whenNotMatched().insertAll();
                }
                if (schemaEvolution) {
                    builder = builder.withSchemaEvolution();
                }
                builder.execute();
            });
        }
    }

    /** Removes the rows a condition selects. */
    public final class Delete extends Operation<Delete> {
        private final Column where;

        Delete(TableName table, Column where) {
            super(table);
            this.where = requireNonNull(where, "where is null");
        }

        @Override
        String verb() {
            return "deleting from";
        }

        @Override
        void write(String marker) {
            onCommitSession(marker, Optional.empty(), 0, spark -> DeltaTable.forPath(spark, location()).delete(where));
        }
    }

    /** Changes columns of the rows a condition selects. */
    public final class Update extends Operation<Update> {
        private final Column where;
        private final Map<String, Column> set;

        Update(TableName table, Column where, Map<String, Column> set) {
            super(table);
            this.where = requireNonNull(where, "where is null");
            this.set = new LinkedHashMap<>(set);
        }

        @Override
        String verb() {
            return "updating";
        }

        @Override
        void write(String marker) {
            onCommitSession(marker, Optional.empty(), 0, spark -> DeltaTable.forPath(spark, location()).update(where, set));
        }
    }
}
