package dev.kiln.features.trainingset;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.col;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import java.sql.Timestamp;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.jdk.javaapi.CollectionConverters;

/**
 * {@code features.training_sets}: one row per built training set, with everything needed to rebuild it
 * exactly (its declaration, feature references resolved to versions, the Delta version of every input).
 */
public final class TrainingSetRegistry {
    public static final TableName TABLE = TableName.of("features", "training_sets");

    static final StructType SCHEMA = new StructType()
            .add("id", DataTypes.StringType, false)
            .add("name", DataTypes.StringType, false)
            .add("description", DataTypes.StringType, true)
            .add("spec", DataTypes.StringType, false)
            .add("feature_refs", DataTypes.createArrayType(DataTypes.StringType), false)
            .add("inputs", DataTypes.createMapType(DataTypes.StringType, DataTypes.LongType), false)
            .add("table_name", DataTypes.StringType, false)
            .add("label_column", DataTypes.StringType, false)
            .add("event_time", DataTypes.StringType, false)
            .add("row_count", DataTypes.LongType, false)
            .add("build_seconds", DataTypes.DoubleType, false)
            .add("created_at", DataTypes.TimestampType, false);

    private final Lakehouse lakehouse;

    public TrainingSetRegistry(Lakehouse lakehouse) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
    }

    /**
     * Adds the set's row unless a row with its id is there already (two identical builds racing). Idempotent: the
     * MERGE inserts only a missing id, so when a concurrent registration (another process) makes Delta refuse the
     * commit, the commit path runs it again against the new table version.
     */
    void register(TrainingSet set, String description, String spec, double buildSeconds) {
        lakehouse.createIfMissing(TABLE, SCHEMA, List.of(), "One row per built training set, with its lineage", Map.of());
        Row row = RowFactory.create(set.id(), set.name(), description, spec,
                CollectionConverters.asScala(set.featureRefs()).toSeq(),
                scala.collection.immutable.Map.from(CollectionConverters.asScala(new TreeMap<>(set.inputs()))),
                set.table().toString(), set.labelColumn(), set.eventTime(), set.rowCount(), buildSeconds,
                Timestamp.from(set.createdAt()));
        Dataset<Row> update = lakehouse.spark().createDataFrame(List.of(row), SCHEMA);
        lakehouse.commits().merge(TABLE, update, col("t.id").equalTo(col("s.id"))).insertAll().commit();
    }

    /** The registry row of a set, if it was built. */
    public Optional<Row> find(String id) {
        if (!lakehouse.exists(TABLE)) {
            return Optional.empty();
        }
        Row[] rows = (Row[]) lakehouse.read(TABLE).filter(col("id").equalTo(id)).collect();
        return rows.length == 0 ? Optional.empty() : Optional.of(rows[0]);
    }

    /** The set a registry row describes. */
    public TrainingSet get(String id) {
        Row r = find(id).orElseThrow(() -> new KilnException("no training set with id '" + id
                + "' in " + TABLE + " (kiln training-set list shows them)"));
        return fromRow(r, true);
    }

    /** The declaration a registered set was built from. */
    public TrainingSetSpec spec(String id) {
        Row r = find(id).orElseThrow(() -> new KilnException("no training set with id '" + id + "' in " + TABLE));
        return TrainingSetSpec.fromText(r.getAs("name"), r.getAs("spec"));
    }

    /** The newest build of a named set. */
    public Optional<TrainingSet> latest(String name) {
        if (!lakehouse.exists(TABLE)) {
            return Optional.empty();
        }
        Row[] rows = (Row[]) lakehouse.read(TABLE).filter(col("name").equalTo(name))
                .orderBy(col("created_at").desc()).limit(1).collect();
        return rows.length == 0 ? Optional.empty() : Optional.of(fromRow(rows[0], true));
    }

    public Dataset<Row> list() {
        return lakehouse.read(TABLE).orderBy(col("created_at").desc());
    }

    static TrainingSet fromRow(Row r, boolean reused) {
        List<String> refs = CollectionConverters.asJava(r.<scala.collection.Seq<String>>getAs("feature_refs"));
        Map<String, Long> inputs = new TreeMap<>(CollectionConverters.asJava(r.<scala.collection.Map<String, Long>>getAs("inputs")));
        return new TrainingSet(r.getAs("id"), r.getAs("name"), TableName.parse(r.getAs("table_name")),
                r.getAs("label_column"), r.getAs("event_time"), refs, inputs, r.<Long>getAs("row_count"),
                dev.kiln.lakehouse.EventTime.instant(r.getAs("created_at")), reused);
    }
}
