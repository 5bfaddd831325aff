package dev.kiln.lakehouse.maintenance;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Identifiers;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import io.delta.tables.DeltaOptimizeBuilder;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * Delta table maintenance: compaction (optionally Z-ordered) and vacuum. Both are ordinary Delta
 * operations: each is one commit, safe to re-run, and readers keep working while they run.
 */
public final class TableMaintenance {
    private final Lakehouse lakehouse;

    public TableMaintenance(Lakehouse lakehouse) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
    }

    /** Compacts small files; with Z-order columns, also clusters the data by them. Returns Delta's metrics row. */
    public Dataset<Row> optimize(TableName table, List<String> zOrderBy) {
        DeltaOptimizeBuilder optimize = lakehouse.delta(table).optimize();
        if (zOrderBy.isEmpty()) {
            return optimize.executeCompaction();
        }
        List<String> columns = Arrays.asList(lakehouse.read(table).columns());
        for (String c : zOrderBy) {
            Identifiers.require(c, "z-order column");
            if (!columns.contains(c)) {
                throw new KilnException("cannot z-order " + table + " by unknown column '" + c + "' (columns: " + columns + ")");
            }
        }
        return optimize.executeZOrderBy(zOrderBy.toArray(String[]::new));
    }

    /** Removes files no longer referenced by versions younger than the retention (Delta's default: 7 days). */
    public Dataset<Row> vacuum(TableName table, Double retentionHours) {
        return retentionHours == null ? lakehouse.delta(table).vacuum() : lakehouse.delta(table).vacuum(retentionHours);
    }
}
