package dev.kiln.features.catalog;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;

import dev.kiln.features.definition.FeatureSetSpec;
import dev.kiln.features.definition.FeatureSpec;
import dev.kiln.features.materialize.MaterializedVersion;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * {@code features.catalog}: one row per feature of each materialized set version, with its definition,
 * lineage (source table and the Delta version read) and what is materialized (range, rows, null rate).
 * Updated by MERGE after each materialization; {@code created_at} keeps the first time.
 */
public final class FeatureCatalog {
    public static final TableName TABLE = TableName.of("features", "catalog");

    static final StructType SCHEMA = new StructType()
            .add("feature_set", DataTypes.StringType, false)
            .add("version", DataTypes.IntegerType, false)
            .add("feature", DataTypes.StringType, false)
            .add("entity", DataTypes.createArrayType(DataTypes.StringType), false)
            .add("type", DataTypes.StringType, false)
            .add("aggregation", DataTypes.StringType, false)
            .add("window", DataTypes.StringType, false)
            .add("ttl", DataTypes.StringType, false)
            .add("grain", DataTypes.StringType, false)
            .add("description", DataTypes.StringType, true)
            .add("owner", DataTypes.StringType, true)
            .add("tags", DataTypes.createArrayType(DataTypes.StringType), true)
            .add("definition_hash", DataTypes.StringType, false)
            .add("table_name", DataTypes.StringType, false)
            .add("source", DataTypes.StringType, false)
            .add("source_version", DataTypes.LongType, true)
            .add("materialized_from", DataTypes.TimestampNTZType, true)
            .add("materialized_to", DataTypes.TimestampNTZType, true)
            .add("row_count", DataTypes.LongType, false)
            .add("null_rate", DataTypes.DoubleType, true)
            .add("created_at", DataTypes.TimestampType, false)
            .add("updated_at", DataTypes.TimestampType, false);


    private final Lakehouse lakehouse;

    public FeatureCatalog(Lakehouse lakehouse) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
    }

    /** Refuses a set whose definition changed since its version was first materialized. */
    public void requireSameDefinition(FeatureSetSpec spec) {
        if (!lakehouse.exists(TABLE)) {
            return;
        }
        Row[] rows = (Row[]) lakehouse.read(TABLE)
                .filter(col("feature_set").equalTo(spec.name()).and(col("version").equalTo(spec.version())))
                .select("definition_hash").distinct().collect();
        for (Row r : rows) {
            if (!r.getString(0).equals(spec.definitionHash())) {
                throw new KilnException("feature set '" + spec.name() + "' v" + spec.version() + " was materialized with"
                        + " definition " + r.getString(0) + " but its definition is now " + spec.definitionHash()
                        + "; bump feature-sets." + spec.name() + ".version to materialize the new definition"
                        + " (the old version's table stays as it is)");
            }
        }
    }

    /** Upserts the set's rows after a materialization, with statistics of the whole table in one pass. */
    public void record(FeatureSetSpec spec, MaterializedVersion result) {
        Dataset<Row> table = lakehouse.read(spec.tableName());
        List<Column> stats = new ArrayList<>();
        stats.add(count(lit(1)));
        stats.add(min("period_start"));
        stats.add(max("period_start"));
        for (FeatureSpec f : spec.features()) {
            stats.add(count(col(f.name())));
        }
        Row s = table.agg(stats.get(0), stats.subList(1, stats.size()).toArray(Column[]::new)).first();
        long rows = s.getLong(0);
        Timestamp now = Timestamp.from(Instant.now());
        List<Row> out = new ArrayList<>();
        for (int i = 0; i < spec.features().size(); i++) {
            FeatureSpec f = spec.features().get(i);
            Double nullRate = rows == 0 ? null : 1.0 - (double) s.getLong(3 + i) / rows;
            out.add(RowFactory.create(spec.name(), spec.version(), f.name(),
                    scala.jdk.javaapi.CollectionConverters.asScala(spec.entity()).toSeq(),
                    f.type().simpleString(), f.aggregation().toString(), f.window().text(), spec.ttl().text(),
                    spec.grain().name().toLowerCase(java.util.Locale.ROOT), f.description(), spec.owner(),
                    scala.jdk.javaapi.CollectionConverters.asScala(spec.tags()).toSeq(),
                    spec.definitionHash(), spec.tableName().toString(), spec.sourceDescription(),
                    result.sourceVersion().orElse(null), dev.kiln.lakehouse.EventTime.utcWallClock(s.get(1)),
                    dev.kiln.lakehouse.EventTime.utcWallClock(s.get(2)), rows, nullRate, now, now));
        }
        ensureTable();
        Dataset<Row> updates = lakehouse.spark().createDataFrame(out, SCHEMA);
        Map<String, Column> set = new LinkedHashMap<>();
        for (String c : SCHEMA.fieldNames()) {
            if (!c.equals("created_at")) {
                set.put(c, col("s.`" + c + "`"));
            }
        }
        // Sets materialized side by side on this lakehouse take turns (a refused MERGE costs a failed attempt and an
        // error in the log). Another process may still update the catalog at the same time; Delta then refuses the
        // later of two overlapping MERGEs, which the commit path runs again on the table as the earlier one left it.
        synchronized (lakehouse.commitLock(TABLE)) {
            lakehouse.commits().merge(TABLE, updates, col("t.feature_set").equalTo(col("s.feature_set"))
                            .and(col("t.version").equalTo(col("s.version")))
                            .and(col("t.feature").equalTo(col("s.feature"))))
                    .update(set)
                    .insertAll()
                    .commit();
        }
    }

    /** Creates the catalog table if it does not exist yet (before sets are materialized side by side). */
    public void ensureTable() {
        lakehouse.createIfMissing(TABLE, SCHEMA, List.of(), "One row per feature of each feature set version", Map.of());
    }

    /** What the point-in-time join needs of a set version: as it was materialized, or as it is configured. */
    public record Definition(List<String> entity, dev.kiln.features.definition.Grain grain, dev.kiln.features.definition.Span ttl,
            List<String> features) {
        public Definition {
            entity = List.copyOf(entity);
            features = List.copyOf(features);
        }

        public static Definition of(FeatureSetSpec spec) {
            return new Definition(spec.entity(), spec.grain(), spec.ttl(), spec.features().stream().map(FeatureSpec::name).toList());
        }
    }

    /**
     * The definition a set version was materialized with, from its catalog rows (entity, grain, TTL, features),
     * whatever the configuration says now; empty when the catalog has no rows of that version.
     */
    public java.util.Optional<Definition> definition(String featureSet, int version) {
        if (!lakehouse.exists(TABLE)) {
            return java.util.Optional.empty();
        }
        Row[] rows = (Row[]) lakehouse.read(TABLE).filter(col("feature_set").equalTo(featureSet).and(col("version").equalTo(version)))
                .select("feature", "entity", "grain", "ttl").orderBy("feature").collect();
        if (rows.length == 0) {
            return java.util.Optional.empty();
        }
        Row first = rows[0];
        List<String> entity = scala.jdk.javaapi.CollectionConverters.asJava(first.<scala.collection.Seq<String>>getAs("entity"));
        dev.kiln.features.definition.Grain grain = dev.kiln.features.definition.Grain.valueOf(
                first.getString(2).toUpperCase(java.util.Locale.ROOT));
        dev.kiln.features.definition.Span ttl = dev.kiln.features.definition.Span.parse(first.getString(3),
                TABLE + " (" + featureSet + " v" + version + ").ttl");
        List<String> features = java.util.Arrays.stream(rows).map(r -> r.getString(0)).toList();
        return java.util.Optional.of(new Definition(entity, grain, ttl, features));
    }

    /** The catalog, by set, version and feature. */
    public Dataset<Row> list() {
        return lakehouse.read(TABLE).orderBy("feature_set", "version", "feature");
    }
}
