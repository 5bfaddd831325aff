package dev.kiln.features.trainingset;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValueType;
import dev.kiln.features.pointintime.FeatureRef;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Identifiers;
import dev.kiln.lakehouse.catalog.TableName;
import dev.kiln.lakehouse.catalog.TableOrQuery;
import dev.kiln.lakehouse.config.ConfigException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
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
        if (!config.hasPath(base)) {
            List<String> known = config.hasPath("training-sets")
                    ? new ArrayList<>(new java.util.TreeSet<>(config.getObject("training-sets").keySet())) : List.of();
            throw new dev.kiln.lakehouse.UnknownNameException("unknown training set '" + name + "' (known: " + String.join(", ", known) + ")");
        }
        return fromConfig(name, config.getConfig(base), base);
    }

    /** Parses a declaration stored in the registry ({@link #text()}). */
    public static TrainingSetSpec fromText(String name, String text) {
        return fromConfig(name, ConfigFactory.parseString(text), "training-sets." + name);
    }

    private static TrainingSetSpec fromConfig(String name, Config s, String base) {
        TableOrQuery events = TableOrQuery.parse(s, base, "events", "events-query");
        String eventTime = identifier(string(s, "event-time", base + ".event-time"), base + ".event-time");
        List<String> columns = new ArrayList<>();
        if (s.hasPath("columns")) {
            List<String> raw = s.getStringList("columns");
            for (int i = 0; i < raw.size(); i++) {
                columns.add(identifier(raw.get(i), base + ".columns[" + i + "]"));
            }
        }
        Optional<String> where = s.hasPath("where") ? Optional.of(s.getString("where")) : Optional.empty();
        String label = string(s, "label", base + ".label");
        String labelColumn = s.hasPath("label-column")
                ? identifier(s.getString("label-column"), base + ".label-column") : "label";
        if (!s.hasPath("features") || s.getValue("features").valueType() != ConfigValueType.LIST
                || s.getStringList("features").isEmpty()) {
            throw new ConfigException(base + ".features", "expected a list of feature references like origin_delay_stats:flights_7d");
        }
        List<FeatureRef> refs = new ArrayList<>();
        List<String> raw = s.getStringList("features");
        for (int i = 0; i < raw.size(); i++) {
            try {
                refs.add(FeatureRef.parse(raw.get(i)));
            } catch (KilnException e) {
                throw new ConfigException(base + ".features[" + i + "]", e.getMessage());
            }
        }
        String description = s.hasPath("description") ? s.getString("description") : "";
        String text = s.root().render(ConfigRenderOptions.concise());
        return new TrainingSetSpec(name, events, eventTime, columns, where, label, labelColumn, refs,
                description, text);
    }

    private static String identifier(String value, String at) {
        if (!Identifiers.isPlain(value)) {
            throw new ConfigException(at, "'" + value + "' is not a plain identifier");
        }
        return value.toLowerCase(Locale.ROOT);
    }

    private static String string(Config c, String key, String at) {
        if (!c.hasPath(key)) {
            throw new ConfigException(at, "missing");
        }
        return String.valueOf(c.getValue(key).unwrapped());
    }
}
