package dev.kiln.features.trainingset;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.catalog.TableName;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A built training set: its registry row in {@code features.training_sets} and its snapshot table.
 *
 * @param featureRefs the references resolved to versions, {@code set@version:feature}
 * @param inputs      every input table and the Delta version read, by table name
 * @param reused      true when this build found the same set already built and wrote nothing
 */
public record TrainingSet(
        String id,
        String name,
        TableName table,
        String labelColumn,
        String eventTime,
        List<String> featureRefs,
        Map<String, Long> inputs,
        long rowCount,
        Instant createdAt,
        boolean reused) {

    public TrainingSet {
        requireNonNull(id, "id is null");
        requireNonNull(name, "name is null");
        requireNonNull(table, "table is null");
        requireNonNull(labelColumn, "labelColumn is null");
        requireNonNull(eventTime, "eventTime is null");
        featureRefs = List.copyOf(featureRefs);
        inputs = Map.copyOf(inputs);
        requireNonNull(createdAt, "createdAt is null");
    }

    /** The columns a model reads: {@code <set>__<feature>} per reference. */
    public List<String> featureColumns() {
        return featureRefs.stream().map(r -> dev.kiln.features.pointintime.FeatureRef.parse(r).column()).toList();
    }

    public String summary() {
        return String.format("training set %s (id %s): %,d rows, %d features -> %s%s", name, id, rowCount,
                featureRefs.size(), table, reused ? " (already built from the same inputs: reused)" : "");
    }
}
