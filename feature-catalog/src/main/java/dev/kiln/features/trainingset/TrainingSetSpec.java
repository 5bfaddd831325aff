package dev.kiln.features.trainingset;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import dev.kiln.features.pointintime.FeatureRef;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Identifiers;
import dev.kiln.lakehouse.catalog.TableOrQuery;
import dev.kiln.lakehouse.config.ConfigException;
import dev.kiln.lakehouse.config.ConfigSection;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A training set as declared under {@code training-sets.<name>}: entity events (a table or a SQL query
 * over catalog tables), their event time, a label expression and feature references.
 *
 * @param columns event columns kept beside the label and the features (empty: all of them)
 * @param where   an optional SQL filter over the events
 * @param text    the declaration rendered as JSON: stored in the registry, hashed into the set's id
 */
public record TrainingSetSpec(
        String name,
        TableOrQuery events,
        String eventTime,
        List<String> columns,
        Optional<String> where,
        String label,
        String labelColumn,
        List<FeatureRef> features,
        String description,
        String text) {

    public TrainingSetSpec {
        requireNonNull(name, "name is null");
        requireNonNull(events, "events is null");
        requireNonNull(eventTime, "eventTime is null");
        columns = List.copyOf(columns);
        requireNonNull(where, "where is null");
        requireNonNull(label, "label is null");
        requireNonNull(labelColumn, "labelColumn is null");
        features = List.copyOf(features);
        requireNonNull(description, "description is null");
        requireNonNull(text, "text is null");
    }

    /** The events as SQL: the query, or every column of the table. */
    public String eventsSql() {
        return events.asSql();
    }

    /** Parses {@code training-sets.<name>} of a configuration. */
    public static TrainingSetSpec parse(Config config, String name) {
        String base = "training-sets." + name;
        if (!Identifiers.isPlain(name) || name.contains("__")) {
            throw new ConfigException(base, "training set name '" + name + "' must be a plain identifier without '__'");
        }
        ConfigSection root = ConfigSection.root(config);
        if (!root.has(base)) {
            throw new dev.kiln.lakehouse.UnknownNameException("unknown training set '" + name + "' (known: "
                    + String.join(", ", root.keys("training-sets")) + ")");
        }
        return fromConfig(name, root.section(base));
    }

    /** Parses a declaration stored in the registry ({@link #text()}). */
    public static TrainingSetSpec fromText(String name, String text) {
        return fromConfig(name, ConfigSection.parse(text, "training-sets." + name));
    }

    private static TrainingSetSpec fromConfig(String name, ConfigSection s) {
        TableOrQuery events = TableOrQuery.parse(s, "events", "events-query");
        String eventTime = s.identifier("event-time");
        List<String> columns = s.optionalIdentifiers("columns");
        Optional<String> where = s.optionalString("where");
        String label = s.string("label");
        String labelColumn = s.has("label-column") ? s.identifier("label-column") : "label";
        List<String> raw = s.nonEmptyList("features", "expected a list of feature references like origin_delay_stats:flights_7d");
        List<FeatureRef> refs = new ArrayList<>();
        for (int i = 0; i < raw.size(); i++) {
            try {
                refs.add(FeatureRef.parse(raw.get(i)));
            } catch (KilnException e) {
                throw new ConfigException(s.at("features") + "[" + i + "]", e.getMessage());
            }
        }
        String description = s.string("description", "");
        String text = s.render();
        return new TrainingSetSpec(name, events, eventTime, columns, where, label, labelColumn, refs,
                description, text);
    }
}
