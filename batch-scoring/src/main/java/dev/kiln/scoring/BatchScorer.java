package dev.kiln.scoring;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import dev.kiln.features.definition.FeatureSets;
import dev.kiln.features.pointintime.FeatureRef;
import dev.kiln.features.trainingset.TrainingSetBuilder;
import dev.kiln.features.trainingset.TrainingSetRegistry;
import dev.kiln.features.trainingset.TrainingSetSpec;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import dev.kiln.lakehouse.commit.Commit;
import dev.kiln.lakehouse.commit.Predicate;
import dev.kiln.lakehouse.fault.CrashPoint;
import dev.kiln.training.LoadedModel;
import dev.kiln.training.registry.ModelRegistry;
import dev.kiln.training.registry.ModelUri;
import dev.kiln.training.registry.ModelVersion;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.storage.StorageLevel;

/**
 * Scores a day range with one or more registered models into {@code ml.predictions} (partitioned by
 * {@code prediction_date}): the events of each model's training set in the range, joined point in time to
 * the feature versions the model was trained with, through the model's {@code PipelineModel}. One commit
 * replaces exactly those models' rows for those days, so re-scoring is idempotent. Keeps the view
 * {@code ml.latest_predictions} (the current champion's rows) in place.
 */
public final class BatchScorer {
    public static final TableName PREDICTIONS = TableName.of("ml", "predictions");
    public static final TableName LATEST = TableName.of("ml", "latest_predictions");
    public static final String DATE = "prediction_date";

    private final Lakehouse lakehouse;
    private final FeatureSets sets;
    private final Consumer<String> progress;

    public BatchScorer(Lakehouse lakehouse, FeatureSets sets, Consumer<String> progress) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
        this.sets = requireNonNull(sets, "sets is null");
        this.progress = requireNonNull(progress, "progress is null");
    }

    public ScoringResult score(List<ModelUri> uris, LocalDate from, LocalDate to, String runId) {
        if (uris.isEmpty()) {
            throw new KilnException("no model to score with");
        }
        if (to.isBefore(from)) {
            throw new KilnException("the scoring window is empty: --to " + to + " is before --from " + from);
        }
        ModelRegistry registry = new ModelRegistry(lakehouse);
        TrainingSetRegistry trainingSets = new TrainingSetRegistry(lakehouse);
        List<ModelVersion> models = new ArrayList<>();
        for (ModelUri uri : uris) {
            ModelVersion m = registry.resolve(uri);
            if (models.stream().anyMatch(x -> x.name().equals(m.name()) && x.version() == m.version())) {
                throw new KilnException(uri + " is " + m.uri() + ", which is already being scored in this run");
            }
            models.add(m);
        }
        Timestamp scoredAt = Timestamp.from(Instant.now());
        Map<String, Dataset<Row>> rowsByInputs = new LinkedHashMap<>();
        List<Dataset<Row>> outputs = new ArrayList<>();
        Map<String, Long> counts = new LinkedHashMap<>();
        List<Dataset<Row>> cached = new ArrayList<>();
        try {
            for (int i = 0; i < models.size(); i++) {
                ModelVersion m = models.get(i);
                TrainingSetSpec spec = trainingSets.spec(m.trainingSetId());
                String key = spec.text() + m.featureRefs();
                Dataset<Row> rows = rowsByInputs.get(key);
                if (rows == null) {
                    rows = new TrainingSetBuilder(lakehouse, sets, progress).scoringRows(spec, m.featureRefs(),
                            from.atStartOfDay(), to.plusDays(1).atStartOfDay()).persist(StorageLevel.MEMORY_AND_DISK());
                    cached.add(rows);
                    long n = rows.count();
                    if (n == 0) {
                        throw new KilnException("no events of training set " + spec.name() + " between " + from + " and " + to
                                + " to score (" + spec.eventsSql() + "); nothing was written");
                    }
                    progress.accept(String.format("score: %,d events %s .. %s with %d features", n, from, to, m.featureRefs().size()));
                    rowsByInputs.put(key, rows);
                }
                counts.put(uris.get(i).toString(), rows.count());
                outputs.add(predictions(m, spec, rows, runId, scoredAt));
            }
            Dataset<Row> all = outputs.get(0);
            for (Dataset<Row> o : outputs.subList(1, outputs.size())) {
                all = all.unionByName(o, true);
            }
            write(all, models, from, to);
        } finally {
            cached.forEach(Dataset::unpersist);
        }
        refreshView();
        return new ScoringResult(runId, from, to, counts);
    }

    /**
     * Scores events the caller gives with a registered model, without writing anything: the events (the model's
     * training-set columns of them) joined point in time to the features the model was trained with, and the
     * prediction columns of {@code ml.predictions} (event columns, {@code event_time}, {@code score},
     * {@code predicted_label}, model name and version, feature set versions, training set id).
     */
    public Dataset<Row> score(Dataset<Row> events, ModelUri uri) {
        ModelVersion m = new ModelRegistry(lakehouse).resolve(uri);
        TrainingSetSpec spec = new TrainingSetRegistry(lakehouse).spec(m.trainingSetId());
        LoadedModel loaded = LoadedModel.load(m);
        // What the rows must bring: the model's inputs that are not features (those come from the join).
        java.util.Set<String> joined = new java.util.HashSet<>();
        for (String text : m.featureRefs()) {
            FeatureRef ref = FeatureRef.parse(text);
            joined.add(ref.column());
            joined.add(ref.missingColumn());
        }
        List<String> inputs = loaded.signature().inputs().stream().filter(c -> !joined.contains(c)).toList();
        try {
            Dataset<Row> rows = new TrainingSetBuilder(lakehouse, sets, progress).scoringRows(spec, m.featureRefs(), events, inputs);
            return predictionColumns(loaded, spec, rows, "the given events", List.of());
        } catch (KilnException e) {
            throw new KilnException(m.uri() + ": " + e.getMessage(), e);
        }
    }

    private Dataset<Row> predictions(ModelVersion m, TrainingSetSpec spec, Dataset<Row> rows, String runId, Timestamp scoredAt) {
        return predictionColumns(LoadedModel.load(m), spec, rows, "the events to score",
                List.of(lit(runId).as("scoring_run_id"), lit(scoredAt).as("scored_at")));
    }

    /** The columns of {@code ml.predictions}, {@code run} (the scoring run's own) just before the date partition. */
    private static Dataset<Row> predictionColumns(LoadedModel loaded, TrainingSetSpec spec, Dataset<Row> rows, String what,
            List<Column> run) {
        ModelVersion m = loaded.version();
        Dataset<Row> scored = loaded.transform(rows, what);
        Map<String, Integer> versions = new TreeMap<>();
        java.util.Set<String> featureColumns = new java.util.HashSet<>();
        for (String text : m.featureRefs()) {
            FeatureRef ref = FeatureRef.parse(text);
            versions.put(ref.set(), ref.resolvedVersion());
            featureColumns.add(ref.column());
            featureColumns.add(ref.missingColumn());
        }
        List<Column> out = new ArrayList<>();
        for (String c : rows.columns()) {
            if (!featureColumns.contains(c)) { // event columns; feature values stay in the feature tables
                out.add(col(dev.kiln.lakehouse.catalog.Identifiers.quote(c)));
            }
        }
        out.add(dev.kiln.lakehouse.EventTime.of(col(spec.eventTime())).as("event_time"));
        out.add(loaded.signature().score().as("score"));
        out.add(loaded.signature().rawScore().as("raw_score"));
        out.add(loaded.signature().predictedLabel(m.decisionRule()).as("predicted_label"));
        out.add(lit(m.name()).as("model_name"));
        out.add(lit(m.version()).as("model_version"));
        List<Column> kv = new ArrayList<>();
        versions.forEach((set, v) -> {
            kv.add(lit(set));
            kv.add(lit(v));
        });
        out.add(org.apache.spark.sql.functions.map(kv.toArray(Column[]::new)).as("feature_set_versions"));
        out.add(lit(m.trainingSetId()).as("training_set_id"));
        out.addAll(run);
        out.add(org.apache.spark.sql.functions.to_date(col(spec.eventTime())).as(DATE));
        return scored.select(out.toArray(Column[]::new));
    }

    private void write(Dataset<Row> scored, List<ModelVersion> models, LocalDate from, LocalDate to) {
        lakehouse.ensureSchema(PREDICTIONS.schema());
        Dataset<Row> predictions = CrashPoint.inLastTask(scored, CrashPoint.SCORE_IN_PREDICTIONS_WRITE);
        List<Predicate> which = new ArrayList<>();
        for (ModelVersion m : models) {
            which.add(Predicate.eq("model_name", m.name()).and(Predicate.eq("model_version", m.version())));
        }
        Predicate predicate = Predicate.between(DATE, from, to).and(Predicate.any(which));
        // Scorings of other models at once (the daily DAG on a shared catalog) write the same date partitions, which
        // Delta reports as a conflict (ConcurrentAppendException), and the first two may both create the table. This
        // write replaces only its own models' rows for its days, so the commit path's retry writes again safely.
        try {
            lakehouse.commits().retry().run("writing " + PREDICTIONS, () -> writeOnce(predictions, predicate));
        } catch (KilnException e) {
            throw e;
        } catch (Exception e) { // Spark throws AnalysisException (checked) undeclared
            throw new KilnException("writing " + PREDICTIONS + " failed: " + KilnException.firstLine(e.getMessage()), e);
        }
    }

    private Commit writeOnce(Dataset<Row> predictions, Predicate predicate) {
        if (!lakehouse.exists(PREDICTIONS)) {
            return lakehouse.commits().overwrite(PREDICTIONS, predictions).partitionBy(List.of(DATE)).commitOnce();
        }
        // A table written before event times were TIMESTAMP keeps its TIMESTAMP_NTZ column: the same values, as UTC.
        if (lakehouse.read(PREDICTIONS).schema().apply("event_time").dataType()
                instanceof org.apache.spark.sql.types.TimestampNTZType) {
            predictions = predictions.withColumn("event_time",
                    col("event_time").cast(org.apache.spark.sql.types.DataTypes.TimestampNTZType));
        }
        return lakehouse.commits().replace(PREDICTIONS, predictions, predicate).mergeSchema(true).commitOnce();
    }

    private void refreshView() {
        if (!lakehouse.exists(ModelRegistry.ALIASES)) {
            return;
        }
        lakehouse.spark().sql("CREATE OR REPLACE VIEW " + LATEST.quoted() + " AS SELECT p.* FROM " + PREDICTIONS.quoted()
                + " p JOIN " + ModelRegistry.ALIASES.quoted() + " a ON a.name = p.model_name AND a.version = p.model_version"
                + " AND a.alias = 'champion'");
    }
}
