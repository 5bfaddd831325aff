package dev.kiln.scoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.kiln.features.definition.FeatureSets;
import dev.kiln.features.materialize.Materializer;
import dev.kiln.features.trainingset.TrainingSet;
import dev.kiln.features.trainingset.TrainingSetBuilder;
import dev.kiln.features.trainingset.TrainingSetSpec;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.TestLakehouse;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import dev.kiln.training.Trainer;
import dev.kiln.training.registry.ModelRegistry;
import dev.kiln.training.registry.ModelUri;
import dev.kiln.training.registry.ModelVersion;
import dev.kiln.training.spec.Algorithm;
import dev.kiln.training.spec.ModelSpec;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

/** Scoring with lineage, idempotent per model and day, shadow models in the same pass, training/serving consistency. */
class BatchScorerTest {
    private static final Lakehouse LAKEHOUSE = TestLakehouse.get();
    private static final Config CONFIG = ConfigFactory.parseString("""
            feature-sets.sc_store {
              version = 1, entity = [store], source = "raw.sc_events", event-time = ts, grain = day, ttl = 3d
              features = [ { name = hot_rate_3d, agg = "rate(x > 0.5)", window = 3d } ]
            }
            training-sets.sc_hot {
              events = "raw.sc_events", event-time = ts, columns = [ts, store, x, bias], label = "x + bias > 0.6"
              features = ["sc_store:hot_rate_3d"]
            }
            models.sc_model {
              task = binary-classification, training-set = sc_hot, numeric = [x], categorical = [store]
              algorithm = logistic-regression
              grids { logistic-regression { maxIter = [20] }, gbt { maxDepth = [2], maxIter = [3] } }
              split { train-until = "2024-02-01", validate-until = "2024-02-20" }
            }
            """);

    @Test
    void scoresWithLineageReplacesOnRescoreAndShadowsAChallenger() {
        TableName events = TableName.parse("raw.sc_events");
        LAKEHOUSE.ensureSchema("raw");
        LAKEHOUSE.spark().sql("SELECT concat('S', id % 4) AS store,"
                + " cast(timestamp_ntz'2024-01-01 00:00:00' + make_dt_interval(cast(id % 60 AS int), cast(id % 24 AS int), 0, 0) AS timestamp_ntz) AS ts,"
                + " (abs(hash(id)) % 1000) / 1000.0 AS x, (id % 4) * 0.1 AS bias FROM range(1200)")
                .write().format("delta").option("path", LAKEHOUSE.locationOf(events)).saveAsTable(events.toString());
        FeatureSets sets = FeatureSets.parse(CONFIG);
        new Materializer(LAKEHOUSE, m -> { }).materialize(sets.get("sc_store"));
        TrainingSetSpec setSpec = TrainingSetSpec.parse(CONFIG, "sc_hot");
        TrainingSet set = new TrainingSetBuilder(LAKEHOUSE, sets, m -> { }).build(setSpec);

        // Training/serving consistency: scoring rows of the whole range are the training set without its label.
        Dataset<Row> serving = new TrainingSetBuilder(LAKEHOUSE, sets, m -> { }).scoringRows(setSpec, set.featureRefs(),
                LocalDateTime.of(2024, 1, 1, 0, 0), LocalDateTime.of(2024, 3, 1, 0, 0));
        Dataset<Row> training = LAKEHOUSE.read(set.table()).drop("label");
        assertEquals(1200, serving.count());
        assertEquals(0, serving.exceptAll(training).count());
        assertEquals(0, training.exceptAll(serving).count());

        ModelSpec spec = ModelSpec.parse(CONFIG, "sc_model");
        ModelVersion lr = new Trainer(LAKEHOUSE, m -> { }).train(spec, Algorithm.LOGISTIC_REGRESSION, set, "run-lr");
        ModelVersion gbt = new Trainer(LAKEHOUSE, m -> { }).train(spec, Algorithm.GBT, set, "run-gbt");
        ModelRegistry registry = new ModelRegistry(LAKEHOUSE);
        registry.promote("sc_model", lr.version(), "champion", Optional.empty(), "test");
        registry.promote("sc_model", gbt.version(), "challenger", Optional.empty(), "test");

        BatchScorer scorer = new BatchScorer(LAKEHOUSE, sets, m -> { });
        List<ModelUri> both = List.of(ModelUri.parse("models:/sc_model@champion"), ModelUri.parse("models:/sc_model@challenger"));
        LocalDate from = LocalDate.of(2024, 2, 20);
        LocalDate to = LocalDate.of(2024, 2, 24);
        long inWindow = LAKEHOUSE.read(events).filter("ts >= timestamp_ntz'2024-02-20 00:00:00' AND ts < timestamp_ntz'2024-02-25 00:00:00'").count();
        ScoringResult first = scorer.score(both, from, to, "score-1");
        assertEquals(Map.of("models:/sc_model@champion", inWindow, "models:/sc_model@challenger", inWindow), first.rowsPerModel());
        assertEquals(2 * inWindow, LAKEHOUSE.read(BatchScorer.PREDICTIONS).count());
        // Another day range for the champion only, then the first range again: only its own rows are replaced.
        scorer.score(List.of(ModelUri.parse("models:/sc_model@champion")), LocalDate.of(2024, 2, 25), LocalDate.of(2024, 2, 26), "score-2");
        long afterSecond = LAKEHOUSE.read(BatchScorer.PREDICTIONS).count();
        scorer.score(both, from, to, "score-3");
        assertEquals(afterSecond, LAKEHOUSE.read(BatchScorer.PREDICTIONS).count());
        assertEquals(0, LAKEHOUSE.read(BatchScorer.PREDICTIONS).filter("scoring_run_id = 'score-1'").count());

        Row r = LAKEHOUSE.spark().sql("SELECT count(*), min(score), max(score), count_if(predicted_label <> (score > 0.5)),"
                + " count_if(feature_set_versions['sc_store'] <> 1), count_if(to_date(event_time) <> prediction_date)"
                + " FROM ml.predictions WHERE model_version = " + lr.version()).first();
        assertTrue(r.getDouble(1) >= 0 && r.getDouble(2) <= 1, r.toString());
        assertEquals(0L, r.getLong(3));
        assertEquals(0L, r.getLong(4));
        assertEquals(0L, r.getLong(5));
        assertEquals(List.of(lr.version()), LAKEHOUSE.spark().sql("SELECT DISTINCT model_version FROM ml.latest_predictions")
                .as(org.apache.spark.sql.Encoders.INT()).collectAsList());

        // Rows given by the caller need only what the model reads: the entity key, the event time and its inputs
        // (the set's bias column is not one): their scores are the written ones.
        ModelUri v1 = ModelUri.parse("models:/sc_model/" + lr.version());
        Dataset<Row> given = LAKEHOUSE.read(events).filter("ts >= timestamp_ntz'2024-02-20 00:00:00'"
                + " AND ts < timestamp_ntz'2024-02-25 00:00:00'").select("store", "ts", "x");
        Dataset<Row> scored = scorer.score(given, v1).select("store", "ts", "x", "score", "predicted_label");
        Dataset<Row> written = LAKEHOUSE.read(BatchScorer.PREDICTIONS).filter("model_version = " + lr.version()
                + " AND prediction_date BETWEEN DATE'2024-02-20' AND DATE'2024-02-24'").select("store", "ts", "x", "score", "predicted_label");
        assertEquals(inWindow, scored.count());
        assertEquals(0, scored.exceptAll(written).count());
        assertEquals(0, written.exceptAll(scored).count());
        KilnException missing = assertThrows(KilnException.class, () -> scorer.score(given.drop("x"), v1));
        assertEquals("models:/sc_model/" + lr.version() + ": the rows to score have no column 'x': scoring needs the entity keys"
                + " [store], the event time 'ts' and the model's inputs [x, store] (the rows have [store, ts])", missing.getMessage());

        long before = LAKEHOUSE.read(BatchScorer.PREDICTIONS).count();
        assertEquals("model sc_model has no alias 'nope' (models:/sc_model@nope)", assertThrows(KilnException.class,
                () -> scorer.score(List.of(ModelUri.parse("models:/sc_model@nope")), from, to, "x")).getMessage());
        assertTrue(assertThrows(KilnException.class, () -> scorer.score(List.of(ModelUri.parse("models:/sc_model@champion")),
                LocalDate.of(2025, 1, 1), LocalDate.of(2025, 1, 2), "x")).getMessage()
                .startsWith("no events of training set sc_hot between 2025-01-01 and 2025-01-02 to score"));
        assertEquals(before, LAKEHOUSE.read(BatchScorer.PREDICTIONS).count());

        // Two scorings of different models at once, same days (the daily DAG on a shared catalog): both commit, no
        // row twice. Without retries one of the two failed every round with DELTA_CONCURRENT_APPEND.
        for (int round = 0; round < 3; round++) {
            java.util.concurrent.CompletableFuture<ScoringResult> champion = java.util.concurrent.CompletableFuture.supplyAsync(
                    () -> scorer.score(List.of(ModelUri.parse("models:/sc_model@champion")), from, to, "together-1"));
            java.util.concurrent.CompletableFuture<ScoringResult> challenger = java.util.concurrent.CompletableFuture.supplyAsync(
                    () -> scorer.score(List.of(ModelUri.parse("models:/sc_model@challenger")), from, to, "together-2"));
            assertEquals(inWindow, champion.join().rowsPerModel().get("models:/sc_model@champion"));
            assertEquals(inWindow, challenger.join().rowsPerModel().get("models:/sc_model@challenger"));
        }
        assertEquals(before, LAKEHOUSE.read(BatchScorer.PREDICTIONS).count());
    }
}
