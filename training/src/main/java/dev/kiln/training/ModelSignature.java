package dev.kiln.training;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import dev.kiln.features.pointintime.FeatureRef;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Identifiers;
import dev.kiln.training.spec.Task;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.Predictor;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.feature.OneHotEncoder;
import org.apache.spark.ml.feature.SQLTransformer;
import org.apache.spark.ml.feature.StringIndexer;
import org.apache.spark.ml.feature.StringIndexerModel;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.regression.IsotonicRegression;
import org.apache.spark.ml.regression.IsotonicRegressionModel;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.types.DataTypes;

/**
 * What a Kiln model reads and what it answers: its input columns (numeric ones, including the point-in-time
 * join's {@code <set>__missing} indicators, and categorical ones), the columns its pipeline adds on the way
 * (private to this class), and the expression of its score. Training builds the pipeline from it; scoring,
 * drift and evaluation ask it instead of reading the pipeline's column names.
 */
public final class ModelSignature {
    /** The assembled feature vector and the double label, as the estimator sees them. */
    static final String FEATURES = "__features";
    static final String LABEL = "__label";
    private static final String NUMERIC = "__x_";
    private static final String INDEX = "__idx_";
    private static final String ONE_HOT = "__oh_";
    /** The calibrated probability a calibration stage adds. */
    static final String CALIBRATED = "__calibrated";

    private final Task task;
    private final List<String> numeric;
    private final List<String> missingIndicators;
    private final List<String> categorical;
    private final boolean calibrated;

    private ModelSignature(Task task, List<String> numeric, List<String> missingIndicators, List<String> categorical,
            boolean calibrated) {
        this.task = requireNonNull(task, "task is null");
        this.numeric = List.copyOf(numeric);
        this.missingIndicators = List.copyOf(missingIndicators);
        this.categorical = List.copyOf(categorical);
        this.calibrated = calibrated;
    }

    /**
     * The signature of a model trained on {@code featureRefs} (resolved, {@code set@version:feature}) plus the
     * event columns {@code extraNumeric} and {@code categorical}.
     */
    public static ModelSignature of(Task task, List<String> featureRefs, List<String> extraNumeric, List<String> categorical) {
        Set<String> numeric = new LinkedHashSet<>();
        Set<String> missing = new LinkedHashSet<>();
        List<FeatureRef> refs = featureRefs.stream().map(FeatureRef::parse).toList();
        refs.forEach(r -> numeric.add(r.column()));
        refs.forEach(r -> missing.add(r.missingColumn()));
        numeric.addAll(missing);
        numeric.addAll(extraNumeric);
        return new ModelSignature(task, List.copyOf(numeric), List.copyOf(missing), categorical, false);
    }

    /** The signature of a saved Kiln pipeline, from its stages, for a model trained on {@code featureRefs}. */
    public static ModelSignature of(Task task, List<String> featureRefs, PipelineModel model) {
        Set<String> missing = new LinkedHashSet<>();
        featureRefs.stream().map(FeatureRef::parse).forEach(r -> missing.add(r.missingColumn()));
        List<String> numeric = new ArrayList<>();
        List<String> categorical = new ArrayList<>();
        boolean calibrated = false;
        for (Transformer stage : model.stages()) {
            calibrated |= stage instanceof IsotonicRegressionModel;
            if (stage instanceof VectorAssembler va) {
                for (String c : va.getInputCols()) {
                    if (c.startsWith(NUMERIC)) {
                        numeric.add(c.substring(NUMERIC.length()));
                    }
                }
            } else if (stage instanceof StringIndexerModel si) {
                categorical.addAll(List.of(si.getInputCols()));
            }
        }
        if (numeric.isEmpty() && categorical.isEmpty()) {
            throw new KilnException("the saved pipeline has no Kiln input stages: it was not trained by Kiln");
        }
        return new ModelSignature(task, numeric, List.copyOf(missing), categorical, calibrated);
    }

    /** Whether the pipeline ends in a calibration stage ({@link #score()} is then its calibrated probability). */
    public boolean calibrated() {
        return calibrated;
    }

    /**
     * A fitted pipeline with a calibration appended: isotonic regression of the outcome on the model's probability
     * of the positive class, fitted on {@code validation} (rows the model has not transformed).
     */
    static PipelineModel calibrate(PipelineModel model, Dataset<Row> validation) {
        IsotonicRegressionModel isotonic = new IsotonicRegression().setIsotonic(true).setFeaturesCol("probability")
                .setFeatureIndex(1).setLabelCol(LABEL).setPredictionCol(CALIBRATED).fit(model.transform(validation));
        Transformer[] stages = java.util.Arrays.copyOf(model.stages(), model.stages().length + 1);
        stages[stages.length - 1] = isotonic;
        return new PipelineModel(model.uid(), stages);
    }

    public Task task() {
        return task;
    }

    /** Numeric inputs, each read as a double with nulls as 0: features, missing indicators, event columns. */
    public List<String> numericInputs() {
        return numeric;
    }

    /** Numeric inputs that are data, not derived from it: the missing indicators left out (what drift watches). */
    public List<String> observedNumericInputs() {
        return numeric.stream().filter(c -> !missingIndicators.contains(c)).toList();
    }

    /** Categorical inputs: indexed by frequency and one-hot encoded, unseen values in their own slot. */
    public List<String> categoricalInputs() {
        return categorical;
    }

    /** Every column the model reads from its input rows. */
    public List<String> inputs() {
        List<String> out = new ArrayList<>(numeric);
        out.addAll(categorical);
        return out;
    }

    /** The columns the pipeline adds to its input rows, to be left out of anything written. */
    public boolean isPipelineColumn(String column) {
        return column.startsWith(NUMERIC) || column.startsWith(INDEX) || column.startsWith(ONE_HOT) || column.equals(FEATURES)
                || column.equals(LABEL) || column.equals(CALIBRATED)
                || List.of("rawPrediction", "probability", "prediction").contains(column);
    }

    /** The pipeline's stages in front of {@code estimator}, which reads {@link #FEATURES}. */
    PipelineStage[] stages(Predictor<?, ?, ?> estimator) {
        List<String> selects = new ArrayList<>();
        List<String> assembled = new ArrayList<>();
        for (String c : numeric) {
            selects.add("coalesce(cast(" + Identifiers.quote(c) + " AS double), 0D) AS " + Identifiers.quote(NUMERIC + c));
            assembled.add(NUMERIC + c);
        }
        List<PipelineStage> stages = new ArrayList<>();
        stages.add(new SQLTransformer().setStatement("SELECT *, " + String.join(", ", selects) + " FROM __THIS__"));
        if (!categorical.isEmpty()) {
            String[] in = categorical.toArray(String[]::new);
            String[] idx = categorical.stream().map(c -> INDEX + c).toArray(String[]::new);
            String[] oh = categorical.stream().map(c -> ONE_HOT + c).toArray(String[]::new);
            stages.add(new StringIndexer().setInputCols(in).setOutputCols(idx).setHandleInvalid("keep")
                    .setStringOrderType("frequencyDesc"));
            stages.add(new OneHotEncoder().setInputCols(idx).setOutputCols(oh).setHandleInvalid("keep"));
            assembled.addAll(List.of(oh));
        }
        stages.add(new VectorAssembler().setInputCols(assembled.toArray(String[]::new)).setOutputCol(FEATURES)
                .setHandleInvalid("keep"));
        stages.add(estimator);
        return stages.toArray(PipelineStage[]::new);
    }

    /**
     * The score on rows the model transformed: the (calibrated, where the model has a calibration) probability of the
     * positive class for a classifier, the prediction for a regression.
     */
    public Column score() {
        return calibrated ? col(CALIBRATED) : score(task);
    }

    /** The model's own output before any calibration: the uncalibrated probability, or the regression's prediction. */
    public Column rawScore() {
        return score(task);
    }

    /** The score of a Kiln model of {@code task} on rows it transformed. */
    public static Column score(Task task) {
        return task == Task.REGRESSION ? col("prediction")
                : org.apache.spark.ml.functions.vector_to_array(col("probability"), "float64").getItem(1);
    }

    /** The predicted class on rows the model transformed, by the version's decision (null for a regression). */
    public Column predictedLabel(dev.kiln.training.decision.Decision decision) {
        return task == Task.REGRESSION ? lit(null).cast(DataTypes.BooleanType) : decision.predicted(score());
    }
}
