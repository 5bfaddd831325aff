package dev.kiln.training;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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
import dev.kiln.training.registry.ModelRegistry;
import dev.kiln.training.registry.ModelUri;
import dev.kiln.training.registry.ModelVersion;
import dev.kiln.training.registry.Promotion;
import dev.kiln.training.spec.Algorithm;
import dev.kiln.training.spec.ModelSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Training, the registry, promotion gates and reproduction on a small learnable data set. */
class TrainerTest {
    private static final Lakehouse LAKEHOUSE = TestLakehouse.get();
    private static final Config CONFIG = ConfigFactory.parseString("""
            feature-sets.tr_store {
              version = 1, entity = [store], source = "raw.tr_events", event-time = ts, grain = day, ttl = 3d
              features = [ { name = hot_rate_3d, agg = "rate(x > 0.5)", window = 3d } ]
            }
            training-sets.tr_hot {
              events = "raw.tr_events", event-time = ts, columns = [ts, store, x], label = "x + bias > 0.6"
              features = ["tr_store:hot_rate_3d"]
            }
            training-sets.tr_amount {
              events = "raw.tr_events", event-time = ts, columns = [ts, store, x], label = "x * 10"
              features = ["tr_store:hot_rate_3d"]
            }
            models.hot {
              task = binary-classification, training-set = tr_hot, numeric = [x], categorical = [store]
              algorithm = logistic-regression
              grids {
                logistic-regression { regParam = [0.0, 0.1], maxIter = [20] }
                gbt { maxDepth = [2], maxIter = [5] }
              }
              split { train-until = "2024-02-10", validate-until = "2024-03-01" }
              metric = areaUnderROC, seed = 7
            }
            models.bad_grid = ${models.hot} { grids { gbt { maxLeaves = [3] } }, algorithm = gbt }
            models.bad_value = ${models.hot} { grids { logistic-regression { maxIter = [0.5] } } }
            models.empty_split = ${models.hot} { split { train-until = "2023-01-01", validate-until = "2023-02-01" } }
            models.amount = ${models.hot} { training-set = tr_amount }
            models.hot_calibrated = ${models.hot} { calibration = isotonic, grids.logistic-regression.regParam = [0.1] }
            """).resolve();

    private static TrainingSet hot;

    @BeforeAll
    static void data() {
        LAKEHOUSE.ensureSchema("raw");
        TableName events = TableName.parse("raw.tr_events");
        // 1,200 events over 60 days and 4 stores; the label follows x and a per-store bias.
        LAKEHOUSE.spark().sql("SELECT concat('S', id % 4) AS store,"
                + " cast(timestamp_ntz'2024-01-01 00:00:00' + make_dt_interval(cast(id % 60 AS int), cast(id % 24 AS int), 0, 0) AS timestamp_ntz) AS ts,"
                + " (abs(hash(id)) % 1000) / 1000.0 AS x, (id % 4) * 0.1 AS bias FROM range(1200)")
                .write().format("delta").option("path", LAKEHOUSE.locationOf(events)).saveAsTable(events.toString());
        FeatureSets sets = FeatureSets.parse(CONFIG);
        new Materializer(LAKEHOUSE, m -> { }).materialize(sets.get("tr_store"));
        hot = new TrainingSetBuilder(LAKEHOUSE, sets, m -> { }).build(TrainingSetSpec.parse(CONFIG, "tr_hot"));
    }

    private static ModelVersion train(String model, Algorithm algorithm) {
        return new Trainer(LAKEHOUSE, m -> { }).train(ModelSpec.parse(CONFIG, model), algorithm, hot,
                java.util.UUID.randomUUID().toString());
    }

    @Test
    void trainsRegistersPromotesThroughTheGateAndReproduces() {
        ModelRegistry registry = new ModelRegistry(LAKEHOUSE);
        ModelVersion lr = train("hot", Algorithm.LOGISTIC_REGRESSION);
        long nTrain = LAKEHOUSE.read(hot.table()).filter("ts < timestamp_ntz'2024-02-10 00:00:00'").count();
        assertEquals((double) nTrain, lr.metrics().get("n_train"));
        assertEquals(1200.0 - nTrain, lr.metrics().get("n_validate"));
        assertTrue(lr.metrics().get("areaUnderROC") > 0.9, "the label is learnable: " + lr.metrics());
        assertEquals(Set.of("areaUnderROC", "areaUnderPR", "logLoss", "accuracy", "n_train", "n_validate"), lr.metrics().keySet());
        assertEquals("20", lr.params().get("maxIter"));
        assertEquals(hot.id(), lr.trainingSetId());
        assertEquals(List.of("tr_store@1:hot_rate_3d"), lr.featureRefs());
        assertTrue(Files.isDirectory(Path.of(lr.artifactPath().replaceFirst("^file:", ""))), lr.artifactPath());
        assertEquals(lr, registry.get("hot", lr.version()));
        // The metrics Kiln computes itself agree with MLlib's evaluators on the same predictions.
        org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> predictions = org.apache.spark.ml.PipelineModel.load(LoadedModel.pipelinePath(lr))
                .transform(LAKEHOUSE.read(hot.table()).filter("ts >= timestamp_ntz'2024-02-10 00:00:00' AND ts < timestamp_ntz'2024-03-01 00:00:00'")
                        .withColumn(Trainer.LABEL, org.apache.spark.sql.functions.col("label").cast("double")));
        for (String m : List.of("logLoss", "accuracy")) {
            assertEquals(new org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator().setLabelCol(Trainer.LABEL)
                    .setMetricName(m).evaluate(predictions), lr.metrics().get(m), 1e-9, m);
        }
        assertEquals(new org.apache.spark.ml.evaluation.BinaryClassificationEvaluator().setNumBins(0).setLabelCol(Trainer.LABEL)
                .evaluate(predictions), lr.metrics().get("areaUnderROC"), 1e-9);
        // The decision threshold (max-f1 by default) is stored, and its precision and recall are those of the predictions.
        dev.kiln.training.decision.Decision decision = lr.decision().orElseThrow();
        assertEquals("max-f1", LAKEHOUSE.spark().sql("SELECT decision.policy FROM ml.models WHERE name = 'hot' AND version = "
                + lr.version()).first().getString(0));
        org.apache.spark.sql.Column atOrAbove = ModelSignature.score(dev.kiln.training.spec.Task.BINARY_CLASSIFICATION)
                .geq(decision.threshold());
        long predicted = predictions.filter(atOrAbove).count();
        long hits = predictions.filter(atOrAbove.and(org.apache.spark.sql.functions.col(Trainer.LABEL).equalTo(1.0))).count();
        long positives = predictions.filter(org.apache.spark.sql.functions.col(Trainer.LABEL).equalTo(1.0)).count();
        assertEquals((double) hits / predicted, decision.precision(), 1e-12);
        assertEquals((double) hits / positives, decision.recall(), 1e-12);
        assertTrue(lr.describe().contains("decision       score >= "), lr.describe());
        // The version's directory is an MLflow model: the pipeline under sparkml/, MLmodel with both flavors and the
        // signature of what the pipeline reads.
        Path dir = Path.of(lr.artifactPath().replaceFirst("^file:", ""));
        assertEquals(LoadedModel.pipelinePath(lr), lr.artifactPath() + "/sparkml");
        String mlmodel = assertDoesNotThrow(() -> Files.readString(dir.resolve("MLmodel")));
        for (String line : List.of("    model_data: sparkml", "    loader_module: mlflow.spark", "    pyspark_version: 4.0.1",
                "{\"type\":\"double\",\"name\":\"x\",\"required\":true}", "{\"type\":\"string\",\"name\":\"store\",\"required\":true}",
                "  outputs: '[{\"type\":\"double\",\"name\":\"prediction\",\"required\":true}]'")) {
            assertTrue(mlmodel.contains(line), line + "\n" + mlmodel);
        }
        assertTrue(mlmodel.matches("(?s).*\nmodel_uuid: [0-9a-f]{32}\n.*"), mlmodel);
        for (String f : List.of("requirements.txt", "python_env.yaml", "conda.yaml")) {
            assertTrue(Files.isRegularFile(dir.resolve(f)), f);
        }
        // Both grid points are in ml.training_runs, the chosen one with the version's validation metrics.
        List<org.apache.spark.sql.Row> runs = LAKEHOUSE.spark().sql("SELECT candidate, params['regParam'], metrics, fit_seconds,"
                + " chosen, run_id FROM ml.training_runs WHERE model_name = 'hot' AND model_version = " + lr.version()
                + " ORDER BY candidate").collectAsList();
        assertEquals(2, runs.size(), runs.toString());
        assertEquals(List.of("0.0", "0.1"), runs.stream().map(r -> r.getString(1)).toList());
        assertEquals(1, runs.stream().filter(r -> r.getBoolean(4)).count(), runs.toString());
        org.apache.spark.sql.Row chosen = runs.stream().filter(r -> r.getBoolean(4)).findFirst().orElseThrow();
        assertEquals(lr.metrics().get("areaUnderROC"), chosen.<scala.collection.Map<String, Double>>getAs(2).get("areaUnderROC").get());
        assertTrue(runs.stream().allMatch(r -> r.getDouble(3) > 0 && r.getString(5).equals(lr.runId())), runs.toString());

        ModelVersion gbt = train("hot", Algorithm.GBT);
        assertEquals(lr.version() + 1, gbt.version());
        assertEquals("gbt", LAKEHOUSE.spark().sql("SELECT algorithm FROM ml.models WHERE name = 'hot' AND version = "
                + gbt.version()).first().getString(0));

        assertTrue(registry.promote("hot", lr.version(), "champion", Optional.of("champion"), "test").promoted());
        Promotion gate = registry.promote("hot", gbt.version(), "champion", Optional.of("champion"), "test");
        boolean gbtBetter = gbt.metricValue() > lr.metricValue();
        assertEquals(gbtBetter, gate.promoted(), gate.message());
        int champion = gbtBetter ? gbt.version() : lr.version();
        assertEquals(champion, registry.resolve(ModelUri.parse("models:/hot@champion")).version());
        assertEquals(lr.version(), registry.resolve(ModelUri.parse("models:/hot/" + lr.version())).version());

        Reproduction again = new Trainer(LAKEHOUSE, m -> { }).reproduce(ModelSpec.parse(CONFIG, "hot"), lr);
        assertTrue(again.matches(), again.summary());
        Reproduction gbtAgain = new Trainer(LAKEHOUSE, m -> { }).reproduce(ModelSpec.parse(CONFIG, "hot"), gbt);
        assertTrue(gbtAgain.matches(), gbtAgain.summary());
    }

    @Test
    void anIsotonicCalibrationIsFittedOnValidationSavedWithTheModelAndReproduced() {
        ModelVersion m = train("hot_calibrated", Algorithm.LOGISTIC_REGRESSION);
        for (String k : List.of("brier_raw", "ece_raw", "brier", "ece")) {
            assertTrue(m.metrics().containsKey(k), k + " in " + m.metrics());
        }
        // Fitted to the validation outcomes, the calibrated probabilities are at least as reliable there.
        assertTrue(m.metrics().get("ece") <= m.metrics().get("ece_raw") + 1e-12, m.metrics().toString());
        assertTrue(m.metrics().get("brier") <= m.metrics().get("brier_raw") + 1e-12, m.metrics().toString());
        LoadedModel loaded = LoadedModel.load(m);
        assertTrue(loaded.signature().calibrated());
        assertTrue(loaded.pipeline().stages()[loaded.pipeline().stages().length - 1]
                instanceof org.apache.spark.ml.regression.IsotonicRegressionModel);
        // Scoring reads the calibrated probability; the model's own stays beside it, and the two differ.
        org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> scored = loaded.transform(LAKEHOUSE.read(hot.table()), "the set")
                .select(loaded.signature().score().as("score"), loaded.signature().rawScore().as("raw"));
        assertTrue(scored.filter("score <> raw").count() > 0);
        assertEquals(0, scored.filter("score < 0 OR score > 1").count());
        // Calibration is monotone: a higher raw probability never gets a lower calibrated one.
        List<org.apache.spark.sql.Row> byRaw = scored.distinct().orderBy("raw", "score").collectAsList();
        for (int i = 1; i < byRaw.size(); i++) {
            assertTrue(byRaw.get(i).getDouble(0) >= byRaw.get(i - 1).getDouble(0), "not monotone at " + byRaw.get(i));
        }
        Reproduction again = new Trainer(LAKEHOUSE, x -> { }).reproduce(ModelSpec.parse(CONFIG, "hot_calibrated"), m);
        assertTrue(again.matches(), again.summary());
    }

    @Test
    void curveAreasMatchTheHandComputedValuesAndMllib() {
        org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> p = LAKEHOUSE.spark().sql("SELECT * FROM VALUES"
                + " (0.9D, 1D), (0.8D, 0D), (0.7D, 1D), (0.6D, 1D), (0.5D, 0D) AS t(score, y)");
        BinaryCurves.Areas a = BinaryCurves.of(p, "score", "y");
        assertEquals(2.0 / 3, a.roc(), 1e-12); // 4 of the 6 (positive, negative) pairs are ordered right
        assertEquals(55.0 / 72, a.pr(), 1e-12);
        // A tie across the classes counts half, and MLlib without binning agrees.
        org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> tied = LAKEHOUSE.spark().sql("SELECT * FROM VALUES"
                + " (0.9D, 1D), (0.7D, 0D), (0.7D, 1D), (0.2D, 0D), (0.2D, 1D), (0.1D, 0D) AS t(score, y)");
        BinaryCurves.Areas b = BinaryCurves.of(tied, "score", "y");
        assertEquals((3 + 2.5 + 1.5) / 9.0, b.roc(), 1e-12);
        org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> asVectors = tied.select(org.apache.spark.sql.functions.col("y"),
                org.apache.spark.ml.functions.array_to_vector(org.apache.spark.sql.functions.expr("array(-score, score)")).as("raw"));
        for (String m : List.of("areaUnderROC", "areaUnderPR")) {
            double mllib = new org.apache.spark.ml.evaluation.BinaryClassificationEvaluator().setNumBins(0).setLabelCol("y")
                    .setRawPredictionCol("raw").setMetricName(m).evaluate(asVectors);
            assertEquals(mllib, m.equals("areaUnderROC") ? b.roc() : b.pr(), 1e-12, m);
        }
        assertTrue(Double.isNaN(BinaryCurves.of(p.filter("y = 1"), "score", "y").roc()), "one class only: no curve");
    }

    @Test
    void oneAggregationGivesTheSameMetricsAsMllibsEvaluators() {
        // Probabilities, predicted labels and labels; 0.7 occurs with both predicted labels (threshold 0.65 once).
        org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> p = LAKEHOUSE.spark().sql("SELECT score, prediction,"
                + " y AS " + Trainer.LABEL + " FROM VALUES (0.9D, 1D, 1D), (0.7D, 1D, 0D), (0.7D, 0D, 1D), (0.7D, 1D, 1D),"
                + " (0.4D, 0D, 1D), (0.2D, 0D, 0D), (0.2D, 0D, 0D), (1D, 1D, 0D), (0D, 0D, 1D) AS t(score, prediction, y)")
                .withColumn("probability", org.apache.spark.ml.functions.array_to_vector(
                        org.apache.spark.sql.functions.expr("array(1D - score, score)")));
        java.util.Map<String, Double> ours = Trainer.classificationMetrics(p);
        for (String m : List.of("logLoss", "accuracy")) {
            double mllib = new org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator().setLabelCol(Trainer.LABEL)
                    .setPredictionCol("prediction").setProbabilityCol("probability").setMetricName(m).evaluate(p);
            assertEquals(mllib, ours.get(m), 1e-12, m);
        }
        for (String m : List.of("areaUnderROC", "areaUnderPR")) {
            double mllib = new org.apache.spark.ml.evaluation.BinaryClassificationEvaluator().setNumBins(0)
                    .setLabelCol(Trainer.LABEL).setRawPredictionCol("probability").setMetricName(m).evaluate(p);
            assertEquals(mllib, ours.get(m), 1e-12, m);
        }
        // By hand: 4 of 9 right; the clipped certain mistakes (1 for a 0, 0 for a 1) cost -ln(1e-15) each.
        assertEquals(4.0 / 9, ours.get("accuracy"), 1e-15);
        double hand = (-Math.log(0.9) - Math.log(0.3) - 2 * Math.log(0.7) - Math.log(0.4) - 2 * Math.log(0.8)
                - 2 * Math.log(1e-15)) / 9;
        assertEquals(hand, ours.get("logLoss"), 1e-12);
    }

    @Test
    void twoTrainingsAtOnceGetDistinctVersions() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<ModelVersion> a = pool.submit(() -> train("hot", Algorithm.LOGISTIC_REGRESSION));
            Future<ModelVersion> b = pool.submit(() -> train("hot", Algorithm.LOGISTIC_REGRESSION));
            int va = a.get().version();
            int vb = b.get().version();
            assertNotEquals(va, vb);
            List<Integer> versions = LAKEHOUSE.spark().sql("SELECT version FROM ml.models WHERE name = 'hot'")
                    .as(org.apache.spark.sql.Encoders.INT()).collectAsList();
            assertEquals(new TreeSet<>(versions).size(), versions.size(), "no version registered twice: " + versions);
            assertTrue(versions.containsAll(List.of(va, vb)));
            for (int v : List.of(va, vb)) {
                ModelVersion m = new ModelRegistry(LAKEHOUSE).resolve(ModelUri.parse("models:/hot/" + v));
                assertTrue(Files.isDirectory(Path.of(m.artifactPath().replaceFirst("^file:", ""))));
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void badInputIsAClearErrorAndRegistersNothing() throws Exception {
        ModelRegistry registry = new ModelRegistry(LAKEHOUSE);
        assertEquals("models.x.algorithm: unknown algorithm 'xgboost' (known for binary-classification:"
                        + " logistic-regression, random-forest, gbt)",
                assertThrows(KilnException.class, () -> ModelSpec.parse(ConfigFactory.parseString("models.x { task ="
                        + " binary-classification, training-set = t, algorithm = xgboost }"), "x")).getMessage());
        assertTrue(assertThrows(KilnException.class, () -> train("bad_grid", Algorithm.GBT)).getMessage()
                .startsWith("models.bad_grid.grids.gbt.maxLeaves: gbt has no parameter 'maxLeaves' (known: "));
        assertTrue(assertThrows(KilnException.class, () -> train("bad_value", Algorithm.LOGISTIC_REGRESSION)).getMessage()
                .startsWith("models.bad_value.grids.logistic-regression.maxIter: 0.5 is not a valid value"));
        assertTrue(assertThrows(KilnException.class, () -> train("empty_split", Algorithm.LOGISTIC_REGRESSION)).getMessage()
                .startsWith("models.empty_split.split: no rows of training set tr_hot before train-until 2023-01-01T00:00"));
        TrainingSet amount = new TrainingSetBuilder(LAKEHOUSE, FeatureSets.parse(CONFIG), m -> { })
                .build(TrainingSetSpec.parse(CONFIG, "tr_amount"));
        assertTrue(assertThrows(KilnException.class, () -> new Trainer(LAKEHOUSE, m -> { }).train(
                ModelSpec.parse(CONFIG, "amount"), Algorithm.LOGISTIC_REGRESSION, amount, "r")).getMessage()
                .matches("models\\.amount: the label of training set tr_amount is decimal\\(.*\\); a binary classifier needs a boolean.*"));
        assertTrue(registry.find("bad_grid", 1).isEmpty() && registry.find("amount", 1).isEmpty());

        assertTrue(assertThrows(KilnException.class, () -> registry.promote("hot", 999, "champion", Optional.empty(), "t"))
                .getMessage().startsWith("model hot has no version 999 (registered: ["));
        ModelVersion doomed = train("hot", Algorithm.LOGISTIC_REGRESSION);
        registry.promote("hot", doomed.version(), "doomed", Optional.empty(), "t");
        org.apache.commons.io.FileUtils.deleteDirectory(Path.of(doomed.artifactPath().replaceFirst("^file:", "")).toFile());
        assertEquals("models:/hot@doomed points at version " + doomed.version() + " whose artifact " + doomed.artifactPath()
                + " is missing", assertThrows(KilnException.class,
                        () -> registry.resolve(ModelUri.parse("models:/hot@doomed"))).getMessage());
        assertFalse(assertThrows(KilnException.class, () -> ModelUri.parse("models:/hot")).getMessage().isEmpty());
    }
}
