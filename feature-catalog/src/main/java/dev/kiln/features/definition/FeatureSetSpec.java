package dev.kiln.features.definition;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.catalog.TableName;
import dev.kiln.lakehouse.catalog.TableOrQuery;
import java.util.List;
import java.util.Optional;

/**
 * A feature set as declared under {@code feature-sets.<name>}: entity keys, source, event time, grain,
 * TTL and features. Materialized into {@code features.<name>__v<version>}.
 *
 * @param input       the source: one table, or a SQL query over catalog tables
 */
public record FeatureSetSpec(
        String name,
        int version,
        List<String> entity,
        TableOrQuery input,
        String eventTime,
        Grain grain,
        Span ttl,
        String owner,
        String description,
        List<String> tags,
        List<FeatureSpec> features) {

    public static final String SCHEMA = "features";

    public FeatureSetSpec {
        requireNonNull(name, "name is null");
        entity = List.copyOf(entity);
        requireNonNull(input, "input is null");
        requireNonNull(eventTime, "eventTime is null");
        requireNonNull(grain, "grain is null");
        requireNonNull(ttl, "ttl is null");
        requireNonNull(owner, "owner is null");
        requireNonNull(description, "description is null");
        tags = List.copyOf(tags);
        features = List.copyOf(features);
    }

    public TableName tableName() {
        return TableName.of(SCHEMA, name + "__v" + version);
    }

    /** The longest window, in periods: how much history an incremental run must read. */
    public int longestWindow() {
        return features.stream().mapToInt(FeatureSpec::windowPeriods).max().orElse(1);
    }

    /** The source table, when the set reads one table (not a query). */
    public Optional<TableName> source() {
        return input.tableName();
    }

    public String sourceDescription() {
        return input.describe();
    }

    /**
     * A hash of everything that decides the values (not owner, description or tags). Changing it needs a
     * new version.
     */
    public String definitionHash() {
        StringBuilder sb = new StringBuilder();
        sb.append("entity=").append(entity).append('\n')
                .append("source=").append(sourceDescription()).append('\n')
                .append("event-time=").append(eventTime).append('\n')
                .append("grain=").append(grain).append('\n')
                .append("ttl=").append(ttl.hours()).append('\n');
        for (FeatureSpec f : features) {
            sb.append(f.definition()).append('\n');
        }
        return dev.kiln.lakehouse.Hashing.sha256Hex(sb.toString(), 16);
    }
}
