package dev.kiln.lakehouse.commit;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.catalog.TableName;
import java.util.Map;
import java.util.TreeMap;

/**
 * One Delta commit, as {@code DESCRIBE HISTORY} records it: the table version it made, the operation, Delta's
 * operation metrics ({@code numOutputRows}, {@code numTargetRowsInserted}, ...) and the commit's user metadata.
 * A write Delta skipped (an idempotent write whose transaction was committed before) is its earlier commit, or
 * {@link #skipped()} when that is too far back in the history to be found.
 */
public record Commit(TableName table, long version, String operation, Map<String, String> metrics, String userMetadata) {
    public Commit {
        requireNonNull(table, "table is null");
        requireNonNull(operation, "operation is null");
        metrics = Map.copyOf(new TreeMap<>(metrics));
        userMetadata = userMetadata == null ? "" : userMetadata;
    }

    static Commit skipped(TableName table, String userMetadata) {
        return new Commit(table, -1, "SKIPPED", Map.of(), userMetadata);
    }

    /** True when Delta wrote nothing (a transaction committed long before; an update or delete that matched nothing). */
    public boolean skipped() {
        return version < 0;
    }

    /** A numeric operation metric, 0 when Delta did not report it. */
    public long metric(String name) {
        String v = metrics.get(name);
        return v == null ? 0 : Long.parseLong(v);
    }

    /** Rows this commit added: written rows of an append or replace, inserted plus updated rows of a MERGE. */
    public long rowsWritten() {
        return metrics.containsKey("numTargetRowsInserted")
                ? metric("numTargetRowsInserted") + metric("numTargetRowsUpdated") : metric("numOutputRows");
    }
}
