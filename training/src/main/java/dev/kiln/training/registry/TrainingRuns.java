package dev.kiln.training.registry;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import dev.kiln.training.Candidate;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.jdk.javaapi.CollectionConverters;

/**
 * {@code ml.training_runs}: every grid point a training fitted, with its parameters, validation metrics and fit time,
 * and which one became the registered version: experiment comparison in SQL, without MLflow.
 */
public final class TrainingRuns {
    public static final TableName TABLE = TableName.of("ml", "training_runs");
    static final StructType SCHEMA = new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("model_name", DataTypes.StringType, false)
            .add("model_version", DataTypes.IntegerType, false)
            .add("candidate", DataTypes.IntegerType, false)
            .add("algorithm", DataTypes.StringType, false)
            .add("params", DataTypes.createMapType(DataTypes.StringType, DataTypes.StringType), false)
            .add("metric", DataTypes.StringType, false)
            .add("metrics", DataTypes.createMapType(DataTypes.StringType, DataTypes.DoubleType), false)
            .add("fit_seconds", DataTypes.DoubleType, true)
            .add("chosen", DataTypes.BooleanType, false)
            .add("training_set_id", DataTypes.StringType, false)
            .add("created_at", DataTypes.TimestampType, false);

    private final Lakehouse lakehouse;

    public TrainingRuns(Lakehouse lakehouse) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
    }

    /** Appends the candidates of the training that registered {@code version}. */
    public void record(ModelVersion version, List<Candidate> candidates) {
        lakehouse.createIfMissing(TABLE, SCHEMA, List.of(), "Every grid point of every training: params, validation metrics,"
                + " fit time, the one chosen", Map.of());
        Timestamp now = Timestamp.from(Instant.now());
        List<Row> rows = new ArrayList<>();
        for (Candidate c : candidates) {
            rows.add(RowFactory.create(version.runId(), version.name(), version.version(), c.index(), version.algorithm(),
                    CollectionConverters.asScala(new TreeMap<>(c.params())), version.metric(),
                    CollectionConverters.asScala(new TreeMap<>(c.metrics())), Double.isNaN(c.fitSeconds()) ? null : c.fitSeconds(),
                    c.chosen(), version.trainingSetId(), now));
        }
        lakehouse.commits().append(TABLE, lakehouse.spark().createDataFrame(rows, SCHEMA)).commit();
    }

    /** The candidates of every training, newest first. */
    public Dataset<Row> list() {
        return lakehouse.read(TABLE).orderBy(org.apache.spark.sql.functions.col("created_at").desc(),
                org.apache.spark.sql.functions.col("candidate"));
    }
}
