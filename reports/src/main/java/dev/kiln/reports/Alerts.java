package dev.kiln.reports;

import static org.apache.spark.sql.functions.col;

import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * {@code reports.alerts}: one row per breach a Kiln job found (a drift threshold, an estimated performance floor),
 * with the retraining it requested. Written by one MERGE per job run, inserting only the alerts no row says yet.
 */
public final class Alerts {
    public static final TableName TABLE = TableName.of("reports", "alerts");

    static final StructType SCHEMA = new StructType()
            .add("alert_id", DataTypes.StringType, false)
            .add("run_id", DataTypes.StringType, false)
            .add("source", DataTypes.StringType, false)
            .add("model_name", DataTypes.StringType, false)
            .add("model_version", DataTypes.IntegerType, false)
            .add("feature", DataTypes.StringType, false)
            .add("metric", DataTypes.StringType, false)
            .add("value", DataTypes.DoubleType, true)
            .add("threshold", DataTypes.DoubleType, true)
            .add("message", DataTypes.StringType, false)
            .add("retrain_run_id", DataTypes.StringType, true)
            .add("retrain_error", DataTypes.StringType, true)
            .add("created_at", DataTypes.TimestampType, false);

    /**
     * One breach: {@code source} the job kind ({@code drift}, {@code estimate}), {@code subject} what breached (an
     * input, the score, a slice), its metric, value and threshold, and a message naming the windows.
     */
    public record Alert(String source, String modelName, int modelVersion, String subject, String metric, Double value,
            Double threshold, String message) {}

    private Alerts() {}

    /**
     * Inserts the alerts of one run, each where no alert says the same (source, model version, subject, metric and
     * message, which names the value and the windows) with the same retrain outcome: a re-run after a run killed past
     * this commit raises no second alert for the same breach, while a re-run whose retrain request went differently is
     * recorded.
     */
    public static void write(Lakehouse lakehouse, String runId, List<Alert> alerts, Optional<String> retrainRunId,
            Optional<String> retrainError, Timestamp now) {
        List<Row> rows = new ArrayList<>();
        for (Alert a : alerts) {
            rows.add(RowFactory.create(UUID.randomUUID().toString(), runId, a.source(), a.modelName(), a.modelVersion(),
                    a.subject(), a.metric(), a.value(), a.threshold(), a.message(), retrainRunId.orElse(null),
                    retrainError.orElse(null), now));
        }
        lakehouse.createIfMissing(TABLE, SCHEMA, List.of(), "Alerts raised by Kiln jobs (drift breaches, estimated"
                + " performance below its floor)", Map.of());
        Column same = null;
        for (String c : List.of("source", "model_name", "model_version", "feature", "metric", "message", "retrain_run_id",
                "retrain_error")) {
            Column eq = col("t.`" + c + "`").eqNullSafe(col("s.`" + c + "`"));
            same = same == null ? eq : same.and(eq);
        }
        lakehouse.commits().merge(TABLE, lakehouse.spark().createDataFrame(rows, SCHEMA), same).insertAll().commit();
    }
}
