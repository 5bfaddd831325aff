package dev.kiln.bench;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import dev.kiln.features.trainingset.TrainingSet;
import dev.kiln.lakehouse.catalog.Identifiers;
import dev.kiln.training.ModelSignature;
import dev.kiln.training.spec.Algorithm;
import dev.kiln.training.spec.ModelSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.feature.SQLTransformer;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;

/**
 * {@code kiln bench train}: Kiln training one logistic regression at fixed parameters (split, pipeline, fit,
 * full validation metrics, save, register) beside the same MLlib pipeline written by hand (split, fit, AUC
 * on the validation window) on the same training set.
 */
final class TrainBench {
    private TrainBench() {
    }

    static int run(BenchContext ctx, String model, int rounds) {
        ModelSpec declared = ModelSpec.parse(ctx.config().config(), model);
        Map<String, List<String>> fixed = new LinkedHashMap<>();
        declared.grid(Algorithm.LOGISTIC_REGRESSION).forEach((k, v) -> fixed.put(k, List.of(v.get(0))));
        ModelSpec spec = new ModelSpec(declared.name() + "_bench", declared.description(), declared.task(),
                declared.trainingSet(), declared.numeric(), List.of(), Algorithm.LOGISTIC_REGRESSION,
                Map.of(Algorithm.LOGISTIC_REGRESSION, fixed), declared.timeColumn(), declared.trainUntil(),
                declared.validateUntil(), declared.metric(), declared.seed(), 1, declared.reproducible(), declared.decision(),
                declared.calibration(), declared.text());
        TrainingSet set = ctx.kiln().buildTrainingSet(spec.trainingSet());
        ctx.out().println(set.summary());
        List<BenchCommand.Timing> kiln = new ArrayList<>();
        List<BenchCommand.Timing> hand = new ArrayList<>();
        for (int round = 0; round <= rounds; round++) {
            double[] aucs = new double[2];
            BenchCommand.Timing k = BenchCommand.Timing.of(() -> aucs[0] = ctx.kiln().withProgress(m -> { })
                    .train(spec, Algorithm.LOGISTIC_REGRESSION, set).metricValue());
            BenchCommand.Timing h = BenchCommand.Timing.of(() -> aucs[1] = byHand(ctx, spec, set, fixed));
            ctx.progress(String.format("%s: kiln train %s (AUC %.6f), hand-written pipeline %s (AUC %.6f)",
                    round == 0 ? "warm-up" : "round " + round + "/" + rounds, k, aucs[0], h, aucs[1]));
            if (round > 0) {
                kiln.add(k);
                hand.add(h);
            }
        }
        BenchCommand.Timing km = BenchCommand.Timing.median(kiln);
        BenchCommand.Timing hm = BenchCommand.Timing.median(hand);
        ctx.out().println();
        ctx.out().printf("bench train: logistic regression %s on training set %s, median of %d rounds%n", fixed, set.id(), rounds);
        ctx.out().printf("  hand-written MLlib pipeline (split, fit, AUC)                  %s%n", hm);
        ctx.out().printf("  kiln train (split, fit, 4 metrics, save, register in ml.models) %s%n", km);
        ctx.out().printf("  kiln / hand-written  %5.2fx wall, %5.2fx CPU (target <= 1.20x)%n", km.wall() / hm.wall(), km.cpu() / hm.cpu());
        return 0;
    }

    /** What a user would write in a notebook: the same inputs, one fit, one metric. */
    private static double byHand(BenchContext ctx, ModelSpec spec, TrainingSet set, Map<String, List<String>> fixed) {
        Dataset<Row> data = ctx.lakehouse().read(set.table()).filter(col("label").isNotNull())
                .withColumn("y", col("label").cast(DataTypes.DoubleType));
        String t = set.eventTime();
        Dataset<Row> train = data.filter(col(t).lt(lit(spec.trainUntil())));
        Dataset<Row> validate = data.filter(col(t).geq(lit(spec.trainUntil())).and(col(t).lt(lit(spec.validateUntil()))));
        // The same inputs as Kiln's model: every feature, each set's missing indicator, the numeric event columns.
        List<String> inputs = ModelSignature.of(spec.task(), set.featureRefs(), spec.numeric(), List.of()).numericInputs();
        List<String> casts = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (String c : inputs) {
            casts.add("coalesce(cast(" + Identifiers.quote(c) + " AS double), 0D) AS " + Identifiers.quote("d_" + c));
            names.add("d_" + c);
        }
        LogisticRegression lr = new LogisticRegression().setLabelCol("y").setFeaturesCol("x")
                .setRegParam(Double.parseDouble(fixed.get("regParam").get(0)))
                .setElasticNetParam(Double.parseDouble(fixed.get("elasticNetParam").get(0)))
                .setMaxIter(Integer.parseInt(fixed.get("maxIter").get(0)));
        PipelineModel model = new Pipeline().setStages(new PipelineStage[] {
                new SQLTransformer().setStatement("SELECT *, " + String.join(", ", casts) + " FROM __THIS__"),
                new VectorAssembler().setInputCols(names.toArray(String[]::new)).setOutputCol("x").setHandleInvalid("keep"),
                lr}).fit(train);
        return new BinaryClassificationEvaluator().setLabelCol("y").setRawPredictionCol("rawPrediction")
                .evaluate(model.transform(validate));
    }
}
