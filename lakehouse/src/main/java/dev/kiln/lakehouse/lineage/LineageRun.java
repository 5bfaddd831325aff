package dev.kiln.lakehouse.lineage;

import dev.kiln.lakehouse.catalog.TableName;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Delta tables one job read and wrote, with their versions: what the lakehouse's one read path and one commit path
 * saw while the job ran (reads pinned to a version keep it; a table read as it is now, the version it was at then).
 */
public final class LineageRun {
    private final Map<TableName, Long> inputs = new LinkedHashMap<>();
    private final Map<TableName, Long> outputs = new LinkedHashMap<>();

    /** Kiln's own bookkeeping (the run log, schema {@code ops}) is no dataset of a job. */
    private static boolean bookkeeping(TableName table) {
        return "ops".equals(table.schema());
    }

    public synchronized void read(TableName table, long version) {
        if (!bookkeeping(table)) {
            inputs.putIfAbsent(table, version);
        }
    }

    public synchronized void wrote(TableName table, long version) {
        if (!bookkeeping(table)) {
            outputs.merge(table, version, Math::max);
        }
    }

    public synchronized Map<TableName, Long> inputs() {
        return new LinkedHashMap<>(inputs);
    }

    public synchronized Map<TableName, Long> outputs() {
        return new LinkedHashMap<>(outputs);
    }
}
