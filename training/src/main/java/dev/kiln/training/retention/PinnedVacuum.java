package dev.kiln.training.retention;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.col;

import dev.kiln.features.trainingset.TrainingSetRegistry;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import dev.kiln.lakehouse.maintenance.TableMaintenance;
import dev.kiln.training.registry.ModelRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.apache.spark.sql.Row;

/**
 * VACUUM that keeps what the registries need: the table versions registered training sets and model versions were
 * built from stay readable (time travel), so that a set can be rebuilt and a model reproduced. The retention asked
 * for grows to keep them unless the caller forces it, and the result says which versions made it grow.
 */
public final class PinnedVacuum {
    private final Lakehouse lakehouse;
    private final Consumer<String> progress;

    public PinnedVacuum(Lakehouse lakehouse, Consumer<String> progress) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
        this.progress = requireNonNull(progress, "progress is null");
    }

    /**
     * Deletes files no recent version references, keeping {@code retentionHours} of history (null: Delta's default,
     * 168 h; Delta rounds it to whole hours) and never less than the pinned versions need, unless {@code force}.
     * A re-run deletes nothing new.
     */
    public Vacuumed vacuum(TableName table, Double retentionHours, boolean force) {
        double requested = retentionHours == null ? 168.0 : retentionHours;
        long current = lakehouse.version(table);
        List<String> needing = new ArrayList<>();
        double retained = requested;
        Instant now = Instant.now();
        for (Map.Entry<Long, List<String>> pin : pinnedVersions(table).entrySet()) {
            if (pin.getKey() >= current) {
                continue; // the current version's files are never vacuumed
            }
            // A version's files stay referenced until a later commit removes them: keeping every tombstone written
            // since the commit after the pinned version keeps all of them.
            Instant removedFrom = commitTime(table, pin.getKey() + 1);
            double needed = Duration.between(removedFrom, now).toMillis() / 3_600_000.0 + 1.0 / 60;
            if (needed > requested) {
                needing.add("version " + pin.getKey() + " (" + String.join(", ", pin.getValue()) + ")");
                // Delta's VACUUM rounds the retention to whole hours: round the need up to the next hour.
                retained = force ? retained : Math.max(retained, Math.ceil(needed));
            }
        }
        if (force && !needing.isEmpty()) {
            progress.accept("WARNING: vacuum --force of " + table + " may delete files that " + String.join("; ", needing)
                    + " need: rebuilding or reproducing them will fail");
        }
        new TableMaintenance(lakehouse).vacuum(table, retained);
        return new Vacuumed(table.toString(), requested, retained, needing, force);
    }

    /** Versions of {@code table} that registered training sets and model versions read, with who pins each. */
    TreeMap<Long, List<String>> pinnedVersions(TableName table) {
        TreeMap<Long, List<String>> out = new TreeMap<>();
        String key = table.toString();
        if (lakehouse.exists(TrainingSetRegistry.TABLE)) {
            for (Row r : new TrainingSetRegistry(lakehouse).list().where(col("inputs").getItem(key).isNotNull())
                    .select(col("id"), col("inputs").getItem(key)).collectAsList()) {
                out.computeIfAbsent(r.getLong(1), v -> new ArrayList<>()).add("training set " + r.getString(0));
            }
        }
        if (lakehouse.exists(ModelRegistry.MODELS)) {
            for (Row r : new ModelRegistry(lakehouse).list().where(col("inputs").getItem(key).isNotNull())
                    .select(col("name"), col("version"), col("inputs").getItem(key)).collectAsList()) {
                out.computeIfAbsent(r.getLong(2), v -> new ArrayList<>()).add("model " + r.getString(0) + "/" + r.getInt(1));
            }
        }
        return out;
    }

    private Instant commitTime(TableName table, long version) {
        List<Row> rows = lakehouse.history(table).where(col("version").equalTo(version)).select("timestamp").collectAsList();
        return rows.isEmpty() ? Instant.now() : dev.kiln.lakehouse.EventTime.instant(rows.get(0).get(0));
    }
}
