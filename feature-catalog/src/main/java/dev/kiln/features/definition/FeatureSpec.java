package dev.kiln.features.definition;

import static java.util.Objects.requireNonNull;

import java.util.Optional;
import org.apache.spark.sql.types.DataType;

/**
 * One feature of a set: an aggregation over a trailing window of the set's grain.
 *
 * @param windowPeriods the window in periods of the grain (7d at day grain = 7)
 * @param defaultValue  value when the window holds no rows ("no history"); empty means null
 */
public record FeatureSpec(
        String name,
        Aggregation aggregation,
        Span window,
        int windowPeriods,
        DataType type,
        String description,
        Optional<Object> defaultValue) {

    public FeatureSpec {
        requireNonNull(name, "name is null");
        requireNonNull(aggregation, "aggregation is null");
        requireNonNull(window, "window is null");
        requireNonNull(type, "type is null");
        requireNonNull(description, "description is null");
        requireNonNull(defaultValue, "defaultValue is null");
    }

    /** The part of the definition that decides the values, for the set's definition hash. */
    String definition() {
        return name + "=" + aggregation + "@" + window.hours() + "h:" + type.simpleString() + ":"
                + defaultValue.map(String::valueOf).orElse("null");
    }
}
