package dev.kiln.lakehouse.catalog;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.commit.ConflictRetry;
import dev.kiln.lakehouse.commit.TableCommits;
import dev.kiln.lakehouse.config.LakehouseSettings;
import io.delta.tables.DeltaTable;
import io.delta.tables.DeltaTableBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

/**
 * The lakehouse: Delta tables under one root, registered by name in a persistent catalog so that any
 * process with Kiln's catalog settings sees them. Schemas are created on first use.
 */
public final class Lakehouse {
    /** The schemas Kiln writes, in data-flow order. */
    public static final List<String> SCHEMAS = List.of("raw", "features", "ml", "reports", "ops");

    private final SparkSession spark;
    private final LakehouseSettings settings;
    private final java.util.concurrent.ConcurrentMap<TableName, Object> commitLocks = new java.util.concurrent.ConcurrentHashMap<>();

    private final TableCommits commits;

    /**
     * Tables this lakehouse has seen in the catalog (or created), with whether their files are Kiln's own Delta
     * table at {@link #locationOf}: those are read by path, so a job asks the metastore about a table once, not at
     * every read and check. A table is never dropped under a running job by Kiln; one dropped elsewhere fails the
     * read with Delta's own error, as a read by name would.
     */
    private final java.util.concurrent.ConcurrentMap<TableName, Boolean> known = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.Set<String> schemas = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final java.util.concurrent.atomic.AtomicLong lookups = new java.util.concurrent.atomic.AtomicLong();

    public Lakehouse(SparkSession spark, LakehouseSettings settings) {
        this.spark = requireNonNull(spark, "spark is null");
        this.settings = requireNonNull(settings, "settings is null");
        this.commits = new TableCommits(this, new ConflictRetry(settings.commitPolicy()));
    }

    /** The one path every write to the lakehouse's tables commits through. */
    public TableCommits commits() {
        return commits;
    }

    public SparkSession spark() {
        return spark;
    }

    /**
     * A monitor that writers of {@code table} through this lakehouse may hold so that their commits take turns
     * instead of colliding (Delta still arbitrates between processes). Per lakehouse instance, never JVM-wide.
     */
    public Object commitLock(TableName table) {
        return commitLocks.computeIfAbsent(table, t -> new Object());
    }

    public LakehouseSettings settings() {
        return settings;
    }

    public void ensureSchema(String schema) {
        if (schemas.add(schema)) {
            spark.sql("CREATE DATABASE IF NOT EXISTS " + Identifiers.quote(schema));
        }
    }

    /** Where a table's Delta files live: {@code <root>/tables/<schema>/<table>}. */
    public String locationOf(TableName table) {
        return settings.tablesDir() + "/" + table.schema() + "/" + table.table();
    }

    /** Whether the table is in the catalog: one metastore lookup per table and lakehouse, then remembered. */
    public boolean exists(TableName table) {
        return known.containsKey(table) || lookUp(table).isPresent();
    }

    /** How many times this lakehouse asked the catalog about a table (for tests). */
    long lookups() {
        return lookups.get();
    }

    /** Forgets what this lakehouse knew of a table (after dropping it). */
    public void forget(TableName table) {
        known.remove(table);
    }

    public Dataset<Row> read(TableName table) {
        boolean own = byPath(table);
        Dataset<Row> rows = own ? spark.read().format("delta").load(locationOf(table)) : spark.table(table.quoted());
        dev.kiln.lakehouse.lineage.LineageRun run = lineage.get();
        if (run != null) {
            run.read(table, own ? loadedVersion(table) : -1);
        }
        return rows;
    }

    /** The table as it was at a Delta version (time travel, {@code VERSION AS OF}). */
    public Dataset<Row> readVersion(TableName table, long version) {
        Dataset<Row> rows = byPath(table) ? spark.read().format("delta").option("versionAsOf", version).load(locationOf(table))
                : spark.sql("SELECT * FROM " + table.quoted() + " VERSION AS OF " + version);
        dev.kiln.lakehouse.lineage.LineageRun run = lineage.get();
        if (run != null) {
            run.read(table, version);
        }
        return rows;
    }

    /** Per thread (and the threads it starts), so that jobs running side by side keep their datasets apart. */
    private final InheritableThreadLocal<dev.kiln.lakehouse.lineage.LineageRun> lineage = new InheritableThreadLocal<>();

    /**
     * From now on, what this thread reads and commits through this lakehouse is recorded in {@code run} (null: nothing
     * is); returns the recorder it replaces. Only a job whose lineage is emitted sets one, so reads cost nothing more
     * otherwise.
     */
    public dev.kiln.lakehouse.lineage.LineageRun recordLineage(dev.kiln.lakehouse.lineage.LineageRun run) {
        dev.kiln.lakehouse.lineage.LineageRun previous = lineage.get();
        lineage.set(run);
        return previous;
    }

    /**
     * A read that went around {@link #read} and {@link #readVersion} (a SQL query over named tables, such as a training
     * set's events), for the running job's lineage: at {@code version}, or (negative) the version it is at now.
     */
    public void noteRead(TableName table, long version) {
        dev.kiln.lakehouse.lineage.LineageRun run = lineage.get();
        if (run != null) {
            Boolean own = version >= 0 ? Boolean.FALSE : known.get(table);
            if (own == null) {
                own = lookUp(table).orElse(false);
            }
            run.read(table, version >= 0 ? version : own ? loadedVersion(table) : -1);
        }
    }

    /** The catalog tables a query reads, for the running job's lineage (nothing is resolved when none is recorded). */
    public void noteReads(Dataset<Row> rows) {
        if (lineage.get() == null) {
            return;
        }
        for (org.apache.spark.sql.catalyst.plans.logical.LogicalPlan leaf
                : scala.jdk.javaapi.CollectionConverters.asJava(rows.queryExecution().analyzed().collectLeaves())) {
            if (leaf instanceof org.apache.spark.sql.execution.datasources.LogicalRelation rel && rel.catalogTable().isDefined()) {
                org.apache.spark.sql.catalyst.TableIdentifier id = rel.catalogTable().get().identifier();
                if (id.database().isDefined()) {
                    noteRead(TableName.of(id.database().get(), id.table()), -1);
                }
            }
        }
    }

    /** The commit path reports each commit here, for the running job's lineage. */
    public void committed(TableName table, long version) {
        dev.kiln.lakehouse.lineage.LineageRun run = lineage.get();
        if (run != null && version >= 0) {
            run.wrote(table, version);
        }
    }

    /** The version of the snapshot a read just loaded (Delta's cached log; no extra read). */
    private long loadedVersion(TableName table) {
        try {
            return org.apache.spark.sql.delta.DeltaLog.forTable(spark, locationOf(table)).unsafeVolatileSnapshot().version();
        } catch (RuntimeException e) {
            return -1;
        }
    }

    public DeltaTable delta(TableName table) {
        return byPath(table) ? DeltaTable.forPath(spark, locationOf(table)) : DeltaTable.forName(spark, table.toString());
    }

    /** Whether the table is Kiln's Delta table at its location (read by path); fails when it does not exist. */
    private boolean byPath(TableName table) {
        Boolean own = known.get(table);
        if (own == null) {
            own = lookUp(table).orElseThrow(() -> new KilnException("table " + table + " does not exist (run `kiln tables` to list the tables)"));
        }
        return own;
    }

    /** One catalog lookup: empty when the table (or its schema) is not there; else whether Kiln reads it by path. */
    private java.util.Optional<Boolean> lookUp(TableName table) {
        org.apache.spark.sql.catalyst.catalog.CatalogTable t;
        lookups.incrementAndGet();
        try {
            t = spark.sessionState().catalog().getTableMetadata(
                    new org.apache.spark.sql.catalyst.TableIdentifier(table.table(), scala.Option.apply(table.schema())));
        } catch (org.apache.spark.sql.catalyst.analysis.NoSuchTableException
                | org.apache.spark.sql.catalyst.analysis.NoSuchNamespaceException e) {
            return java.util.Optional.empty();
        }
        boolean own = t.provider().isDefined() && "delta".equalsIgnoreCase(t.provider().get())
                && sameLocation(t.location(), java.net.URI.create(new org.apache.hadoop.fs.Path(locationOf(table)).toUri().toString()));
        known.put(table, own);
        return java.util.Optional.of(own);
    }

    /** Delta history, newest first, as {@code DESCRIBE HISTORY} shows it. */
    public Dataset<Row> history(TableName table) {
        return delta(table).history();
    }

    /** The table's current Delta version, or -1 when it does not exist. */
    public long version(TableName table) {
        if (!exists(table)) {
            return -1;
        }
        Row[] rows = (Row[]) delta(table).history(1).select("version").collect();
        return rows.length == 0 ? -1 : rows[0].getLong(0);
    }

    /**
     * Creates the table (registered in the catalog, files under the root) unless it exists. Returns
     * true when this call created it; false also when another process sharing the catalog created it at the
     * same time (its create failed here, the table is there).
     */
    public boolean createIfMissing(TableName table, StructType schema, List<String> partitionBy, String comment,
            Map<String, String> properties) {
        if (exists(table)) {
            return false;
        }
        ensureSchema(table.schema());
        DeltaTableBuilder builder = DeltaTable.createIfNotExists(spark)
                .tableName(table.toString())
                .addColumns(schema)
                .location(locationOf(table));
        if (!partitionBy.isEmpty()) {
            builder = builder.partitionedBy(partitionBy.toArray(String[]::new));
        }
        if (comment != null && !comment.isBlank()) {
            builder = builder.comment(comment);
        }
        for (Map.Entry<String, String> p : new TreeMap<>(properties).entrySet()) {
            builder = builder.property(p.getKey(), p.getValue());
        }
        try {
            builder.execute();
            known.put(table, true);
        } catch (Exception e) { // Spark throws AnalysisException (checked) undeclared
            // Another process sharing the catalog created it between the check and this create: that one's is kept.
            // Delta commits the table's log before the metastore entry, so the entry may lag a moment behind.
            for (int wait = 0; wait < 20; wait++) {
                if (exists(table)) {
                    return false;
                }
                if (!DeltaConflicts.isCreatedElsewhere(e)) {
                    break;
                }
                try {
                    Thread.sleep(250);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            throw e;
        }
        return true;
    }

    /** Whether two locations name the same directory: scheme (default file), authority and path, a trailing slash aside. */
    static boolean sameLocation(java.net.URI a, java.net.URI b) {
        return java.util.Objects.equals(part(a.getScheme(), "file"), part(b.getScheme(), "file"))
                && java.util.Objects.equals(part(a.getAuthority(), ""), part(b.getAuthority(), ""))
                && java.util.Objects.equals(trimSlash(a.getPath()), trimSlash(b.getPath()));
    }

    private static String part(String s, String otherwise) {
        return s == null ? otherwise : s;
    }

    private static String trimSlash(String p) {
        return p != null && p.length() > 1 && p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
    }

    /** All tables in Kiln's schemas that exist, sorted. */
    public List<TableName> tables() {
        List<TableName> out = new ArrayList<>();
        for (String schema : SCHEMAS) {
            if (!spark.catalog().databaseExists(schema)) {
                continue;
            }
            Row[] rows = (Row[]) spark.sql("SHOW TABLES IN " + Identifiers.quote(schema)).select("tableName").collect();
            List<String> names = new ArrayList<>();
            for (Row r : rows) {
                names.add(r.getString(0));
            }
            names.stream().sorted().forEach(n -> out.add(TableName.of(schema, n)));
        }
        return out;
    }

}
