package dev.kiln.training;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import dev.kiln.features.trainingset.TrainingSet;
import dev.kiln.features.trainingset.TrainingSetRegistry;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.training.decision.Decision;
import dev.kiln.training.decision.DecisionPolicy;
import dev.kiln.training.decision.Thresholds;
import dev.kiln.training.registry.MlflowModel;
import dev.kiln.training.registry.ModelRegistry;
import dev.kiln.training.registry.TrainingRuns;
import dev.kiln.training.registry.ModelVersion;
import dev.kiln.training.spec.Algorithm;
import dev.kiln.training.spec.Calibration;
import dev.kiln.training.spec.ModelSpec;
import dev.kiln.training.spec.Task;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.Predictor;
import org.apache.spark.ml.evaluation.RegressionEvaluator;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamPair;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.storage.StorageLevel;

/**
 * Trains a model spec on a registered training set: a time-based split (train before {@code train-until},
 * validate up to {@code validate-until}, no shuffling across time), an MLlib {@link Pipeline} (numeric
 * inputs as doubles with nulls as 0 plus the training set's missing indicators, categorical columns
 * indexed and one-hot encoded with unseen values kept, one estimator), every grid point fitted and scored
 * on the validation window in parallel, the best one kept and evaluated in full.
 */
public final class Trainer {
    public static final String FEATURES = ModelSignature.FEATURES;
    public static final String LABEL = ModelSignature.LABEL;

    private final Lakehouse lakehouse;
    private final Consumer<String> progress;

    public Trainer(Lakehouse lakehouse, Consumer<String> progress) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
        this.progress = requireNonNull(progress, "progress is null");
    }

    /** Fits, saves and registers a new version. */
    public ModelVersion train(ModelSpec spec, Algorithm algorithm, TrainingSet set, String runId) {
        String staged = lakehouse.settings().root() + "/models/" + spec.name() + "/_staging/" + runId;
        // The chosen model is saved (a few small Spark jobs) while its validation metrics are computed and the
        // registry looks up the next version.
        List<CompletableFuture<Void>> saving = new ArrayList<>();
        FittedModel fitted;
        try {
            fitted = fit(spec, algorithm, set, model -> saving.add(CompletableFuture.runAsync(() -> {
                try {
                    // MLflow's layout: the pipeline under sparkml/, MLflow's files beside it (MlflowModel).
                    model.write().overwrite().save(staged + "/" + MlflowModel.SPARK_MODEL_DIR);
                } catch (IOException e) {
                    throw new KilnException("could not save the model to " + staged + ": " + e.getMessage(), e);
                }
                MlflowModel.write(staged, MlflowModel.SPARK_MODEL_DIR, inputTypes(spec, set, model), Instant.now(),
                        MlflowModel.newUuid(), lakehouse.spark().sparkContext().hadoopConfiguration());
            })));
        } catch (RuntimeException e) {
            saving.forEach(f -> f.handle((ok, failure) -> null).join()); // no save left running behind a failure
            throw e;
        }
        CompletableFuture<Void> saved = saving.get(0);
        ModelVersion unregistered = new ModelVersion(spec.name(), 0, spec.task().text(), algorithm.text(), fitted.params(),
                spec.metric(), fitted.metrics(), set.id(), set.featureRefs(), set.inputs(), spec.trainUntil(),
                spec.validateUntil(), spec.seed(), spec.configHash(algorithm), runId,
                Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MICROS), staged, fitted.decision());
        ModelVersion registered = new ModelRegistry(lakehouse).register(unregistered, staged, () -> awaitSaved(saved));
        new TrainingRuns(lakehouse).record(registered, fitted.candidates());
        return registered;
    }

    /** The columns the pipeline reads, with their types in the training set (the MLflow signature's inputs). */
    private Map<String, DataType> inputTypes(ModelSpec spec, TrainingSet set, org.apache.spark.ml.PipelineModel model) {
        org.apache.spark.sql.types.StructType schema = lakehouse.read(set.table()).schema();
        Map<String, DataType> out = new java.util.LinkedHashMap<>();
        for (String c : ModelSignature.of(spec.task(), set.featureRefs(), model).inputs()) {
            out.put(c, schema.apply(c).dataType());
        }
        return out;
    }

    private static void awaitSaved(CompletableFuture<Void> saved) {
        try {
            saved.join();
        } catch (java.util.concurrent.CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r
                    : new KilnException("could not save the model: " + KilnException.firstLine(e.getCause().getMessage()), e.getCause());
        }
    }

    /** Retrains a registered version from its pinned training set, split and seed, and compares. */
    public Reproduction reproduce(ModelSpec spec, ModelVersion registered) {
        TrainingSet set = new TrainingSetRegistry(lakehouse).get(registered.trainingSetId());
        Algorithm algorithm = Algorithm.parse(registered.algorithm(), spec.task(), "models." + spec.name() + ".algorithm");
        if (!spec.configHash(algorithm).equals(registered.configHash())) {
            progress.accept("note: models." + spec.name() + " changed since version " + registered.version()
                    + " was trained (config hash " + registered.configHash() + ", now " + spec.configHash(algorithm)
                    + "); retraining with the current declaration and the registered split and seed");
        }
        ModelSpec pinned = new ModelSpec(spec.name(), spec.description(), spec.task(), spec.trainingSet(), spec.numeric(),
                spec.categorical(), algorithm, spec.grids(), spec.timeColumn(), registered.trainUntil(),
                registered.validateUntil(), registered.metric(), registered.seed(), spec.parallelism(), spec.reproducible(),
                registeredPolicy(spec, registered), spec.calibration(), spec.text());
        FittedModel again = fit(pinned, algorithm, set);
        List<String> differences = new ArrayList<>();
        compare("param", registered.params(), again.params(), differences);
        compare("metric", registered.metrics(), again.metrics(), differences);
        if (registered.decision().isPresent() && !registered.decision().equals(again.decision())) {
            differences.add("decision: registered " + registered.decision().get().describe() + ", now "
                    + again.decision().map(Decision::describe).orElse("none"));
        }
        return new Reproduction(registered, again, differences);
    }

    /** The policy a version chose its threshold by (as stored), else the declared one. */
    private static DecisionPolicy registeredPolicy(ModelSpec spec, ModelVersion registered) {
        return registered.decision().map(d -> DecisionPolicy.ofText(d.policy())).orElse(spec.decision());
    }

    private static <V> void compare(String what, Map<String, V> want, Map<String, V> got, List<String> out) {
        Set<String> keys = new java.util.TreeSet<>(want.keySet());
        keys.addAll(got.keySet());
        for (String k : keys) {
            if (!java.util.Objects.equals(want.get(k), got.get(k))) {
                out.add(what + " " + k + ": registered " + want.get(k) + ", now " + got.get(k));
            }
        }
    }

    public FittedModel fit(ModelSpec spec, Algorithm algorithm, TrainingSet set) {
        return fit(spec, algorithm, set, model -> { });
    }

    /** As {@link #fit(ModelSpec, Algorithm, TrainingSet)}; {@code chosen} gets the best model before its metrics are computed. */
    private FittedModel fit(ModelSpec spec, Algorithm algorithm, TrainingSet set, java.util.function.Consumer<PipelineModel> chosen) {
        String at = "models." + spec.name();
        Dataset<Row> data = lakehouse.read(set.table());
        List<String> columns = List.of(data.columns());
        DataType labelType = data.schema().apply(set.labelColumn()).dataType();
        if (spec.task() == Task.BINARY_CLASSIFICATION && labelType != DataTypes.BooleanType) {
            throw new KilnException(at + ": the label of training set " + set.name() + " is " + labelType.simpleString()
                    + "; a binary classifier needs a boolean label expression (like delay > 15)");
        }
        if (spec.task() == Task.REGRESSION && !(labelType instanceof NumericType)) {
            throw new KilnException(at + ": the label of training set " + set.name() + " is " + labelType.simpleString()
                    + "; a regression needs a numeric label");
        }
        String time = spec.timeColumn().orElse(set.eventTime());
        for (String c : concat(List.of(time), spec.numeric(), spec.categorical())) {
            if (!columns.contains(c)) {
                throw new KilnException(at + ": training set " + set.name() + " has no column '" + c + "' (columns: " + columns + ")");
            }
        }
        Dataset<Row> labelled = data.filter(col(set.labelColumn()).isNotNull())
                .withColumn(LABEL, col(set.labelColumn()).cast(DataTypes.DoubleType));
        Dataset<Row> train = labelled.filter(col(time).lt(lit(spec.trainUntil())));
        Dataset<Row> validate = labelled.filter(col(time).geq(lit(spec.trainUntil())).and(col(time).lt(lit(spec.validateUntil()))));
        if (spec.reproducible()) {
            // MLlib sums partial results in the order tasks finish; two partials add up the same either way.
            train = train.coalesce(2);
            validate = validate.coalesce(2);
        }
        List<ParamMap> grid;
        Predictor<?, ?, ?> estimator = algorithm.estimator(spec.task(), FEATURES, LABEL, spec.seed());
        grid = grid(spec, algorithm, estimator);
        // One grid point: MLlib caches what it iterates over itself. Several: cache once for all of them.
        boolean cache = grid.size() > 1;
        if (cache) {
            train = train.persist(StorageLevel.MEMORY_AND_DISK());
            validate = validate.persist(StorageLevel.MEMORY_AND_DISK());
        }
        try {
            Row counts = labelled.agg(
                    org.apache.spark.sql.functions.count_if(col(time).lt(lit(spec.trainUntil()))),
                    org.apache.spark.sql.functions.count_if(col(time).geq(lit(spec.trainUntil()))
                            .and(col(time).lt(lit(spec.validateUntil()))))).first();
            long nTrain = counts.getLong(0);
            long nValidate = counts.getLong(1);
            if (nTrain == 0) {
                throw new KilnException(at + ".split: no rows of training set " + set.name() + " before train-until "
                        + spec.trainUntil() + ": the training window is empty");
            }
            if (nValidate == 0) {
                throw new KilnException(at + ".split: no rows of training set " + set.name() + " from " + spec.trainUntil()
                        + " to validate-until " + spec.validateUntil() + ": the validation window is empty");
            }
            progress.accept(String.format("%s %s: %,d training rows (before %s), %,d validation rows (to %s)",
                    spec.name(), algorithm.text(), nTrain, spec.trainUntil(), nValidate, spec.validateUntil()));

            Pipeline pipeline = new Pipeline().setStages(ModelSignature.of(spec.task(), set.featureRefs(), spec.numeric(),
                    spec.categorical()).stages(estimator));
            List<PipelineModel> fitted = new ArrayList<>();
            List<Double> fitSeconds = new ArrayList<>(java.util.Collections.nCopies(grid.size(), Double.NaN));
            List<Double> scores = evaluateGrid(spec, pipeline, grid, train, validate, fitted, fitSeconds);
            int best = 0;
            for (int i = 1; i < scores.size(); i++) {
                boolean better = ModelSpec.largerIsBetter(spec.metric()) ? scores.get(i) > scores.get(best) : scores.get(i) < scores.get(best);
                if (better) {
                    best = i;
                }
            }
            PipelineModel model = fitted.get(best);
            Map<String, Double> reliability = new TreeMap<>();
            if (spec.calibration() == Calibration.ISOTONIC) {
                reliability.putAll(reliability(model.transform(validate), ModelSignature.score(spec.task()), "_raw"));
                model = ModelSignature.calibrate(model, validate);
                progress.accept(spec.name() + " " + algorithm.text() + ": isotonic calibration fitted on the validation window");
            }
            chosen.accept(model);
            Dataset<Row> validated = model.transform(validate);
            Column score = spec.calibration() == Calibration.ISOTONIC ? col(ModelSignature.CALIBRATED)
                    : ModelSignature.score(spec.task());
            Validation validation = validation(spec.task(), validated, score, spec.decision());
            Map<String, Double> metrics = validation.metrics();
            if (!reliability.isEmpty()) {
                metrics.putAll(reliability);
                metrics.putAll(reliability(validated, score, ""));
            }
            validation.decision().ifPresent(d -> progress.accept(spec.name() + " " + algorithm.text() + ": decision "
                    + d.describe()));
            if (grid.size() == 1) {
                scores.set(0, metrics.get(spec.metric()));
            }
            List<Candidate> candidates = new ArrayList<>();
            for (int i = 0; i < grid.size(); i++) {
                candidates.add(new Candidate(i, paramsOf(grid.get(i)), i == best ? metrics : Map.of(spec.metric(), scores.get(i)),
                        fitSeconds.get(i), i == best));
            }
            metrics.put("n_train", (double) nTrain);
            metrics.put("n_validate", (double) nValidate);
            return new FittedModel(model, algorithm, params(model), metrics, candidates, validation.decision());
        } finally {
            if (cache) {
                train.unpersist();
                validate.unpersist();
            }
        }
    }

    private static List<String> concat(List<String> a, List<String> b, List<String> c) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        out.addAll(c);
        return out;
    }

    /** The cartesian product of the algorithm's grid, each value decoded by the parameter it is for. */
    private static List<ParamMap> grid(ModelSpec spec, Algorithm algorithm, Predictor<?, ?, ?> estimator) {
        List<ParamMap> out = new ArrayList<>(List.of(new ParamMap()));
        for (Map.Entry<String, List<String>> e : spec.grid(algorithm).entrySet()) {
            String at = "models." + spec.name() + ".grids." + algorithm.text() + "." + e.getKey();
            if (!estimator.hasParam(e.getKey())) {
                List<String> known = new ArrayList<>();
                for (Param<?> p : estimator.params()) {
                    known.add(p.name());
                }
                throw new KilnException(at + ": " + algorithm.text() + " has no parameter '" + e.getKey() + "' (known: "
                        + String.join(", ", new java.util.TreeSet<>(known)) + ")");
            }
            @SuppressWarnings("unchecked")
            Param<Object> param = (Param<Object>) estimator.getParam(e.getKey());
            List<ParamMap> next = new ArrayList<>();
            for (ParamMap base : out) {
                for (String json : e.getValue()) {
                    Object value;
                    try {
                        value = decode(param, json);
                        if (!param.isValid().apply(value).equals(Boolean.TRUE)) {
                            throw new IllegalArgumentException("out of range");
                        }
                    } catch (RuntimeException ex) {
                        throw new KilnException(at + ": " + json + " is not a valid value (" + param.doc() + ")", ex);
                    }
                    next.add(base.copy().put(param, value));
                }
            }
            out = next;
        }
        return out;
    }

    /** HOCON writes 0.0 as 0: a whole number is retried as a double for double parameters. */
    private static Object decode(Param<Object> param, String json) {
        Object value;
        try {
            value = param.jsonDecode(json);
        } catch (RuntimeException e) {
            if (!json.matches("-?[0-9]+")) {
                throw e;
            }
            value = param.jsonDecode(json + ".0");
        }
        // A lossy decode (0.5 for an integer parameter reads as 0) is refused: the value must round-trip.
        String back = param.jsonEncode(value);
        boolean same = back.equals(json);
        if (!same && back.matches("-?[0-9.Ee+-]+") && json.matches("-?[0-9.Ee+-]+")) {
            same = Double.parseDouble(back) == Double.parseDouble(json);
        }
        if (!same) {
            throw new IllegalArgumentException("reads as " + back);
        }
        return value;
    }

    private List<Double> evaluateGrid(ModelSpec spec, Pipeline pipeline, List<ParamMap> grid, Dataset<Row> train,
            Dataset<Row> validate, List<PipelineModel> fitted, List<Double> fitSeconds) {
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(spec.parallelism(), grid.size()));
        try {
            List<Future<PipelineModel>> futures = new ArrayList<>();
            List<Double> scores = new ArrayList<>(java.util.Collections.nCopies(grid.size(), Double.NaN));
            for (int i = 0; i < grid.size(); i++) {
                ParamMap params = grid.get(i);
                int index = i;
                futures.add(pool.submit(() -> {
                    long start = System.nanoTime();
                    PipelineModel m = pipeline.fit(train, params);
                    synchronized (fitSeconds) {
                        fitSeconds.set(index, (System.nanoTime() - start) / 1e9);
                    }
                    if (grid.size() == 1) {
                        return m; // nothing to choose between: scored with the full metrics afterwards
                    }
                    double score = metric(spec.task(), spec.metric(), m.transform(validate));
                    progress.accept(String.format("  %s -> %s %.6f", describe(params), spec.metric(), score));
                    synchronized (scores) {
                        scores.set(index, score);
                    }
                    return m;
                }));
            }
            for (Future<PipelineModel> f : futures) {
                fitted.add(f.get());
            }
            return scores;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KilnException("training interrupted", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            throw cause instanceof RuntimeException r ? r
                    : new KilnException("training failed: " + KilnException.firstLine(cause.getMessage()), cause);
        } finally {
            pool.shutdownNow();
        }
    }

    /** A grid point's parameters by MLlib name (empty: the estimator's defaults). */
    private static Map<String, String> paramsOf(ParamMap params) {
        Map<String, String> out = new TreeMap<>();
        for (ParamPair<?> p : params.toList()) {
            out.put(p.param().name(), String.valueOf(p.value()));
        }
        return out;
    }

    private static String describe(ParamMap params) {
        List<String> parts = new ArrayList<>();
        for (ParamPair<?> p : params.toList()) {
            parts.add(p.param().name() + "=" + p.value());
        }
        return parts.isEmpty() ? "defaults" : String.join(", ", parts);
    }

    static double metric(Task task, String metric, Dataset<Row> predictions) {
        return switch (metric) {
            case "areaUnderROC", "areaUnderPR", "logLoss", "accuracy" -> classificationMetrics(predictions).get(metric);
            default -> new RegressionEvaluator().setLabelCol(LABEL).setPredictionCol("prediction").setMetricName(metric)
                    .evaluate(predictions);
        };
    }

    /** The validation metrics of the chosen model, and a binary classifier's decision threshold. */
    private record Validation(Map<String, Double> metrics, java.util.Optional<Decision> decision) {}

    /**
     * Every metric of the task on the validation predictions, a classifier's scored by {@code score}; a classifier's
     * threshold chosen by {@code policy}.
     */
    private static Validation validation(Task task, Dataset<Row> predictions, Column score, DecisionPolicy policy) {
        if (task == Task.BINARY_CLASSIFICATION) {
            Decision[] decision = new Decision[1];
            Map<String, Double> metrics = classificationMetrics(predictions, score, policy, d -> decision[0] = d);
            return new Validation(metrics, java.util.Optional.of(decision[0]));
        }
        Map<String, Double> out = new TreeMap<>();
        Dataset<Row> cached = predictions.persist(StorageLevel.MEMORY_AND_DISK());
        try {
            for (String m : ModelSpec.REGRESSION_METRICS) {
                out.put(m, metric(task, m, cached));
            }
        } finally {
            cached.unpersist();
        }
        return new Validation(out, java.util.Optional.empty());
    }

    /**
     * Both curve areas (exact, {@link BinaryCurves#byKey}), log loss (probabilities clipped to [1e-15, 1 - 1e-15], as
     * MLlib does) and accuracy, from one aggregation of the predictions by score: positives, rows and correct
     * predictions per distinct score, kept distributed. Log loss is the exact sum ({@link ExactSum}) of one term
     * per distinct score, so a retraining gives the same values to the bit however Spark partitions the work, and
     * no step holds every distinct score in one place.
     */
    static Map<String, Double> classificationMetrics(Dataset<Row> predictions) {
        return classificationMetrics(predictions, ModelSignature.score(Task.BINARY_CLASSIFICATION), null, d -> { });
    }

    /**
     * Reliability of probabilities {@code score}: {@code brier<suffix>} (mean squared error against the outcome) and
     * {@code ece<suffix>} (expected calibration error: over ten equal-width bins of the score, the events' share times
     * the gap between the mean score and the observed rate), from one aggregation.
     */
    private static Map<String, Double> reliability(Dataset<Row> predictions, Column score, String suffix) {
        Column bin = org.apache.spark.sql.functions.least(org.apache.spark.sql.functions.floor(col("s").multiply(10)), lit(9L));
        Dataset<Row> bins = predictions.select(score.as("s"), col(LABEL).as("y"))
                .groupBy(bin.as("b")).agg(count(lit(1)).as("n"), sum("s").as("ss"), sum("y").as("sy"),
                        sum(col("y").minus(col("s")).multiply(col("y").minus(col("s")))).as("sq"));
        double n = 0;
        double squares = 0;
        double gaps = 0;
        for (Row r : bins.orderBy("b").collectAsList()) {
            n += r.getLong(1);
            squares += r.getDouble(4);
            gaps += Math.abs(r.getDouble(2) - r.getDouble(3));
        }
        return Map.of("brier" + suffix, squares / n, "ece" + suffix, gaps / n);
    }

    /**
     * The same, and where {@code policy} is given, the decision threshold it chooses over the same sort of the
     * distinct scores ({@link Thresholds}), handed to {@code chosen}.
     */
    private static Map<String, Double> classificationMetrics(Dataset<Row> predictions, Column score, DecisionPolicy policy,
            Consumer<Decision> chosen) {
        Column positive = when(col(LABEL).equalTo(1.0), 1L).otherwise(0L);
        Column predicted = col("prediction");
        Column correct = when(predicted.equalTo(1.0), positive).when(predicted.equalTo(0.0), lit(1L).minus(positive))
                .otherwise(0L);
        Dataset<Row> groups = predictions.select(
                score.as("s"),
                positive.as("p"), correct.as("c"))
                .groupBy(col("s")).agg(sum("p").cast("long").as("p"), count(lit(1)).as("n"), sum("c").cast("long").as("c"))
                .persist(StorageLevel.MEMORY_AND_DISK());
        try {
            List<Object[]> parts = groups.queryExecution().toRdd().toJavaRDD().mapPartitions(it -> {
                ExactSum loss = new ExactSum();
                long rows = 0;
                long right = 0;
                while (it.hasNext()) {
                    org.apache.spark.sql.catalyst.InternalRow r = it.next();
                    double s = r.isNullAt(0) ? Double.NaN : r.getDouble(0);
                    long p = r.getLong(1);
                    long n = r.getLong(2);
                    rows += n;
                    right += r.getLong(3);
                    loss.add(p * -Math.log(clip(s)) + (n - p) * -Math.log(clip(1 - s)));
                }
                return List.<Object[]>of(new Object[] {loss, rows, right}).iterator();
            }).collect();
            ExactSum loss = new ExactSum();
            long rows = 0;
            long right = 0;
            for (Object[] part : parts) {
                loss.add((ExactSum) part[0]);
                rows += (Long) part[1];
                right += (Long) part[2];
            }
            BinaryCurves.Sorted sorted = BinaryCurves.Sorted.of(groups.withColumn("__k", lit(0)), "__k", "s", "p", "n");
            BinaryCurves.Areas areas = BinaryCurves.areas(sorted).getOrDefault(0,
                    new BinaryCurves.Areas(Double.NaN, Double.NaN, 0, 0));
            if (policy != null) {
                chosen.accept(Thresholds.choose(sorted, 0, policy));
            }
            Map<String, Double> out = new TreeMap<>();
            out.put("areaUnderROC", areas.roc());
            out.put("areaUnderPR", areas.pr());
            out.put("logLoss", loss.value() / rows);
            out.put("accuracy", (double) right / rows);
            return out;
        } finally {
            groups.unpersist();
        }
    }

    private static double clip(double probability) {
        return Math.max(1e-15, Math.min(1 - 1e-15, probability));
    }

    /** The estimator's parameters as fitted (set or default), JSON-encoded; columns Kiln names itself are left out. */
    private static Map<String, String> params(PipelineModel model) {
        var last = model.stages()[model.stages().length - 1];
        Map<String, String> out = new LinkedHashMap<>();
        for (ParamPair<?> p : last.extractParamMap().toList()) {
            String name = p.param().name();
            if (name.endsWith("Col") || name.endsWith("Cols")) {
                continue;
            }
            @SuppressWarnings("unchecked")
            Param<Object> param = (Param<Object>) p.param();
            out.put(name, param.jsonEncode(p.value()));
        }
        return new TreeMap<>(out);
    }
}
