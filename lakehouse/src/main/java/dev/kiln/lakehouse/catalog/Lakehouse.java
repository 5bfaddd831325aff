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
        spark.sql("CREATE DATABASE IF NOT EXISTS " + Identifiers.quote(schema));
    }

    /** Where a table's Delta files live: {@code <root>/tables/<schema>/<table>}. */
    public String locationOf(TableName table) {
        return settings.tablesDir() + "/" + table.schema() + "/" + table.table();
    }

    public boolean exists(TableName table) {
        return spark.catalog().databaseExists(table.schema()) && spark.catalog().tableExists(table.schema(), table.table());
    }

    public Dataset<Row> read(TableName table) {
        requireExists(table);
        return spark.table(table.quoted());
    }

    /** The table as it was at a Delta version (time travel, {@code VERSION AS OF}). */
    public Dataset<Row> readVersion(TableName table, long version) {
        requireExists(table);
        return spark.sql("SELECT * FROM " + table.quoted() + " VERSION AS OF " + version);
    }

    public DeltaTable delta(TableName table) {
        requireExists(table);
        return DeltaTable.forName(spark, table.toString());
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

    private void requireExists(TableName table) {
        if (!exists(table)) {
            throw new KilnException("table " + table + " does not exist (run `kiln tables` to list the tables)");
        }
    }
}
