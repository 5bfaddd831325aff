package dev.kiln.api;

import static java.util.Objects.requireNonNull;

import dev.kiln.features.catalog.FeatureCatalog;
import dev.kiln.features.definition.FeatureSetSpec;
import dev.kiln.features.definition.FeatureSets;
import dev.kiln.features.materialize.MaterializedVersion;
import dev.kiln.features.materialize.Materializer;
import dev.kiln.features.pointintime.FeatureRef;
import dev.kiln.features.pointintime.PointInTimeJoin;
import dev.kiln.features.trainingset.TrainingSet;
import dev.kiln.features.trainingset.TrainingSetBuilder;
import dev.kiln.features.trainingset.TrainingSetRebuild;
import dev.kiln.features.trainingset.TrainingSetRegistry;
import dev.kiln.features.trainingset.TrainingSetSpec;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.SideBySide;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.SparkSessions;
import dev.kiln.lakehouse.catalog.TableName;
import dev.kiln.lakehouse.config.KilnConfig;
import dev.kiln.lakehouse.config.KilnConfigLoader;
import dev.kiln.lakehouse.ingest.DatasetSpec;
import dev.kiln.lakehouse.ingest.IngestResult;
import dev.kiln.lakehouse.ingest.Ingestion;
import dev.kiln.lakehouse.maintenance.TableMaintenance;
import dev.kiln.lakehouse.runlog.JobRunLog;
import dev.kiln.reports.drift.DriftMonitor;
import dev.kiln.reports.drift.DriftOutcome;
import dev.kiln.reports.drift.DriftThresholds;
import dev.kiln.reports.drift.DriftWindow;
import dev.kiln.reports.drift.RetrainTrigger;
import dev.kiln.reports.estimate.EstimateFloors;
import dev.kiln.reports.estimate.PerformanceEstimator;
import dev.kiln.reports.html.ModelReport;
import dev.kiln.reports.evaluation.EvaluationMetric;
import dev.kiln.reports.evaluation.Evaluator;
import dev.kiln.scoring.BatchScorer;
import dev.kiln.scoring.ScoringResult;
import dev.kiln.training.LoadedModel;
import dev.kiln.training.Reproduction;
import dev.kiln.training.Trainer;
import dev.kiln.training.registry.ModelRegistry;
import dev.kiln.training.registry.ModelUri;
import dev.kiln.training.registry.ModelVersion;
import dev.kiln.training.registry.Promotion;
import dev.kiln.training.retention.PinnedVacuum;
import dev.kiln.training.retention.Vacuumed;
import dev.kiln.training.spec.Algorithm;
import dev.kiln.training.spec.ModelSpec;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Kiln as a library: one entry point, opened on a SparkSession and Kiln's configuration, with the user's
 * verbs across the platform. The command line, the demo, the benchmarks, the Airflow tasks and the Python
 * package are clients of this type.
 *
 * <pre>{@code
 * Kiln kiln = Kiln.open(spark, config);
 * kiln.ingest("flights");
 * kiln.materialize(List.of());                       // every feature set
 * Dataset<Row> rows = kiln.historicalFeatures(events, "event_time", List.of("origin_delay_stats:avg_delay_7d"));
 * ModelVersion v = kiln.train("flight_delay");
 * Dataset<Row> scored = kiln.score(events, "models:/flight_delay/" + v.version());
 * }</pre>
 *
 * <p>Every verb that writes is recorded as one row of {@code ops.job_runs}, whether it succeeds or fails, and
 * says in its Javadoc what a re-run does. Reads ({@link #historicalFeatures}, {@link #score(Dataset, String)},
 * {@link #model}, {@link #table}) write nothing. Results are immutable values. The session belongs to the
 * caller: this type never stops it, and never changes its settings.
 */
public final class Kiln {
    private final Lakehouse lakehouse;
    private final KilnConfig config;
    private final Consumer<String> progress;
    private final String arguments;
    private volatile FeatureSets featureSets;
    // Declarations parsed once per Kiln, on first use (a bad one fails only the commands that need it).
    private final Map<String, TrainingSetSpec> trainingSetSpecs = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<String, ModelSpec> modelSpecs = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<String, DriftThresholds> driftThresholds = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<String, EstimateFloors> estimateFloors = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile dev.kiln.training.mlflow.MlflowSettings mlflow;

    private Kiln(Lakehouse lakehouse, KilnConfig config, Consumer<String> progress, String arguments) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
        this.config = requireNonNull(config, "config is null");
        this.progress = requireNonNull(progress, "progress is null");
        this.arguments = requireNonNull(arguments, "arguments is null");
    }

    /**
     * Kiln on a session the caller started with Kiln's catalog settings ({@code kiln catalog-conf} prints them).
     * A session whose catalog is not this lakehouse's is refused, naming both.
     */
    public static Kiln open(SparkSession spark, KilnConfig config) {
        requireNonNull(spark, "spark is null");
        requireNonNull(config, "config is null");
        SparkSessions.requireLakehouseCatalog(spark, config.lakehouse());
        return new Kiln(new Lakehouse(spark, config.lakehouse()), config, message -> { }, "(library call)");
    }

    /**
     * As {@link #open(SparkSession, KilnConfig)}, loading the configuration from {@code confDir} (null: the
     * {@code KILN_CONF_DIR} environment variable, else {@code ./conf}) for {@code environment} (null: the
     * configured default) with {@code overrides} ({@code --conf}-style keys) on top.
     */
    public static Kiln open(SparkSession spark, String confDir, String environment, Map<String, String> overrides) {
        return open(spark, loadConfig(confDir, environment, overrides));
    }

    /** Starts a SparkSession with Kiln's settings for the configured lakehouse and opens Kiln on it. */
    public static Kiln start(KilnConfig config) {
        requireNonNull(config, "config is null");
        SparkSession spark = SparkSessions.open(withSqlFunctions(config.lakehouse()));
        Kiln kiln = new Kiln(new Lakehouse(spark, config.lakehouse()), config, message -> { }, "(library call)");
        dev.kiln.api.sql.KilnSqlFunctions.bind(spark, kiln);
        dev.kiln.api.sql.KilnSqlFunctions.bind(spark.sparkContext(), config);
        return kiln;
    }

    /** The settings with Kiln's SQL functions ({@link dev.kiln.api.sql.KilnSqlFunctions}) among the session extensions. */
    public static dev.kiln.lakehouse.config.LakehouseSettings withSqlFunctions(dev.kiln.lakehouse.config.LakehouseSettings s) {
        Map<String, String> conf = new java.util.LinkedHashMap<>(s.sparkConf());
        String configured = conf.getOrDefault("spark.sql.extensions", "");
        String functions = dev.kiln.api.sql.KilnSqlFunctions.class.getName();
        if (!configured.contains(functions)) {
            conf.put("spark.sql.extensions", (configured.isBlank() ? "" : configured + ",") + functions);
        }
        return new dev.kiln.lakehouse.config.LakehouseSettings(s.root(), s.catalog(), s.metastoreUri(), s.sparkMaster(), s.appName(),
                conf, s.jdbcUrl(), s.credentialsFile(), s.commitPolicy());
    }

    /** Kiln's configuration from a conf directory (see {@link #open(SparkSession, String, String, Map)}). */
    public static KilnConfig loadConfig(String confDir, String environment, Map<String, String> overrides) {
        String dir = confDir != null ? confDir : Optional.ofNullable(System.getenv("KILN_CONF_DIR")).filter(s -> !s.isBlank())
                .orElse("conf");
        return new KilnConfigLoader(Path.of(dir)).load(environment, overrides == null ? Map.of() : Map.copyOf(overrides));
    }

    /** The same Kiln, reporting progress lines to {@code progress}. */
    public Kiln withProgress(Consumer<String> progress) {
        return new Kiln(lakehouse, config, progress, arguments);
    }

    /** The same Kiln, recording {@code arguments} (already free of secrets) as the arguments of its runs. */
    public Kiln withRunArguments(String arguments) {
        return new Kiln(lakehouse, config, progress, arguments);
    }

    public SparkSession spark() {
        return lakehouse.spark();
    }

    public KilnConfig config() {
        return config;
    }

    /** The lakehouse this Kiln reads and writes (tables by name, their locations, Delta history). */
    public Lakehouse lakehouse() {
        return lakehouse;
    }

    /** A Kiln table by name ({@code reports.evaluation}, {@code ml.predictions}, ...), as it is now. */
    public Dataset<Row> table(String name) {
        return lakehouse.read(TableName.parse(name));
    }

    // ---------------------------------------------------------------- ingest

    /** A dataset as declared under {@code datasets.<name>}; unknown names are refused with the known ones. */
    public DatasetSpec dataset(String name) {
        return config.dataset(name);
    }

    /** {@link #ingest(DatasetSpec, Optional)} of a declared dataset, the batch id derived from its files. */
    public IngestResult ingest(String dataset) {
        return ingest(dataset(dataset), Optional.empty());
    }

    /**
     * Ingests a dataset's source files into {@code raw.<dataset>}, rows that break the contract into
     * {@code raw.<dataset>_quarantine}. Idempotent per batch: re-running a committed batch (the same files, or the
     * same {@code batchId}) adds nothing, and a run that died between its two commits is completed by re-running it.
     */
    public IngestResult ingest(DatasetSpec spec, Optional<String> batchId) {
        return job("ingest " + spec.name(), runId -> new Ingestion(lakehouse, progress).ingest(spec, batchId),
                r -> new JobRows(r.rowsRead(), r.rowsWritten(), r.rowsQuarantined()));
    }

    // ---------------------------------------------------------------- features

    /** Every declared feature set, by name. */
    public FeatureSets featureSets() {
        FeatureSets sets = featureSets;
        if (sets == null) {
            sets = FeatureSets.parse(config.config());
            featureSets = sets;
        }
        return sets;
    }

    /**
     * Materializes the periods of each named feature set (all of them when {@code names} is empty) that are not
     * materialized yet, two sets at a time, each its own run. A re-run over unchanged sources writes nothing.
     * Results come in the order of the names; if a set fails the others still finish, and the first failure is
     * thrown with the later ones attached.
     */
    public List<MaterializedVersion> materialize(List<String> names) {
        FeatureSets all = featureSets();
        List<FeatureSetSpec> specs = (names.isEmpty() ? List.copyOf(all.all().keySet()) : names).stream().map(all::get).toList();
        // The tables both runs write exist before the threads start.
        new FeatureCatalog(lakehouse).ensureTable();
        new JobRunLog(lakehouse).ensureTable();
        return SideBySide.run(specs, 2, set -> job("features materialize " + set.name(),
                runId -> new Materializer(lakehouse, progress).materialize(set), r -> JobRows.out(r.rowsWritten())));
    }

    /**
     * Recomputes the periods of a feature set whose start falls on a date in {@code [from, to]} (source rows that
     * arrived late), replacing those dates in one commit. A re-run replaces them again with the same values.
     */
    public MaterializedVersion backfill(String featureSet, LocalDate from, LocalDate to) {
        FeatureSetSpec spec = featureSets().get(featureSet);
        return job("features backfill " + featureSet, runId -> new Materializer(lakehouse, progress).backfill(spec, from, to),
                r -> JobRows.out(r.rowsWritten()));
    }

    /** {@code features.catalog}: one row per feature and version, with its lineage. */
    public Dataset<Row> featureCatalog() {
        return new FeatureCatalog(lakehouse).list();
    }

    /**
     * Point-in-time features for any entity rows, Feast-style: each row of {@code entities} (with the feature
     * sets' entity keys and a timestamp column {@code eventTime}) gets, per set, the values of the latest period
     * that ended at or before its time, within the set's TTL, as columns {@code <set>__<feature>}, plus
     * {@code <set>__missing}. References are {@code set:feature} (the configured version) or
     * {@code set@2:feature}. Writes nothing; the same code builds training sets and scoring rows.
     */
    public Dataset<Row> historicalFeatures(Dataset<Row> entities, String eventTime, List<String> refs) {
        requireNonNull(entities, "entities is null");
        List<FeatureRef> parsed = refs.stream().map(FeatureRef::parse).toList();
        return new PointInTimeJoin(lakehouse, featureSets()).join(entities, eventTime, parsed);
    }

    // ---------------------------------------------------------------- training sets

    /**
     * Builds the training set declared under {@code training-sets.<name>}: events and label joined point in time
     * to the features, every input read at a pinned Delta version, written to a snapshot table and registered.
     * Building again over unchanged inputs finds the registered set and writes nothing.
     */
    public TrainingSet buildTrainingSet(String name) {
        TrainingSetSpec spec = trainingSetSpecNamed(name);
        return job("training-set build " + name, runId -> trainingSetBuilder().build(spec),
                s -> JobRows.out(s.reused() ? 0L : s.rowCount()));
    }

    /** The newest registered build of a training set; refused, naming the fix, when it was never built. */
    public TrainingSet trainingSet(String name) {
        trainingSetSpecNamed(name); // unknown names are refused with the known ones
        return new TrainingSetRegistry(lakehouse).latest(name).orElseThrow(() -> new KilnException("training set '" + name
                + "' has not been built yet (run kiln training-set build " + name + ")"));
    }

    /** The declaration of {@code training-sets.<name>} in the configuration, parsed once. */
    public TrainingSetSpec trainingSetSpecNamed(String name) {
        return trainingSetSpecs.computeIfAbsent(name, n -> TrainingSetSpec.parse(config.config(), n));
    }

    /** A registered training set by id. */
    public TrainingSet trainingSetById(String id) {
        return new TrainingSetRegistry(lakehouse).get(id);
    }

    /** The declaration a registered training set was built from, as stored in its registry row. */
    public TrainingSetSpec trainingSetSpec(String id) {
        return new TrainingSetRegistry(lakehouse).spec(id);
    }

    /** The rows of a built training set (its snapshot table). */
    public Dataset<Row> rows(TrainingSet set) {
        return lakehouse.read(set.table());
    }

    /** {@code features.training_sets}: the registry of built sets. */
    public Dataset<Row> trainingSets() {
        return new TrainingSetRegistry(lakehouse).list();
    }

    /**
     * Recomputes a registered set from its registry row (time travel to the pinned versions) and compares it
     * row for row with its snapshot. Writes nothing but its run-log row.
     */
    public TrainingSetRebuild rebuildTrainingSet(String id) {
        return job("training-set rebuild " + id, runId -> trainingSetBuilder().rebuild(id),
                r -> new JobRows(r.set().rowCount(), r.rebuiltRows(), null));
    }

    private TrainingSetBuilder trainingSetBuilder() {
        return new TrainingSetBuilder(lakehouse, featureSets(), progress);
    }

    // ---------------------------------------------------------------- models

    /** A model as declared under {@code models.<name>}. */
    public ModelSpec modelSpec(String name) {
        return modelSpecs.computeIfAbsent(name, n -> ModelSpec.parse(config.config(), n));
    }

    /** {@link #train(String, Algorithm)} with the spec's own algorithm. */
    public ModelVersion train(String model) {
        ModelSpec spec = modelSpec(model);
        return train(model, spec.algorithm());
    }

    /**
     * Builds (or reuses) the model's training set, fits the algorithm's grid on the training window, keeps the
     * best on the validation window and registers it as a new version in {@code ml.models}. Every call registers a
     * new version; two trainings racing get distinct ones.
     */
    public ModelVersion train(String model, Algorithm algorithm) {
        ModelSpec spec = modelSpec(model);
        TrainingSet set = buildTrainingSet(spec.trainingSet());
        progress.accept(set.summary());
        return train(spec, algorithm, set);
    }

    /**
     * As {@link #train(String, Algorithm)}, unless a version was already trained from the same training set with
     * the same declaration and algorithm: then that version is returned and nothing is written.
     */
    public ModelVersion trainOrReuse(String model, Algorithm algorithm) {
        ModelSpec spec = modelSpec(model);
        TrainingSet set = buildTrainingSet(spec.trainingSet());
        Optional<ModelVersion> trained = new ModelRegistry(lakehouse).findTrained(spec.name(), set.id(), spec.configHash(algorithm));
        trained.ifPresent(v -> progress.accept(v.uri() + " was trained from training set " + set.id() + " with the same spec: reused"));
        return trained.orElseGet(() -> train(spec, algorithm, set));
    }

    /**
     * Fits a model spec (declared or not, e.g. a variation of a declared one) on a built training set and registers a
     * new version; every call registers one.
     */
    public ModelVersion train(ModelSpec spec, Algorithm algorithm, TrainingSet set) {
        ModelVersion v = job("train " + spec.name() + " " + algorithm.text(), runId -> new Trainer(lakehouse, progress).train(spec, algorithm, set, runId),
                x -> new JobRows(x.metrics().get("n_train").longValue(), null, null));
        mirrorToMlflow(spec.name());
        return v;
    }

    private volatile java.util.Optional<dev.kiln.lakehouse.lineage.OpenLineageEvents> lineage;

    /** The OpenLineage emitter of {@code kiln.lineage.openlineage}, parsed once; empty when off. */
    private java.util.Optional<dev.kiln.lakehouse.lineage.OpenLineageEvents> lineage() {
        if (lineage == null) {
            dev.kiln.lakehouse.lineage.LineageSettings s = dev.kiln.lakehouse.lineage.LineageSettings.parse(config.config());
            lineage = s.enabled() ? java.util.Optional.of(new dev.kiln.lakehouse.lineage.OpenLineageEvents(s,
                    lakehouse.settings().root(), progress)) : java.util.Optional.empty();
        }
        return lineage;
    }

    /** {@code kiln.mlflow}, parsed once (off unless a tracking URI is set). */
    public dev.kiln.training.mlflow.MlflowSettings mlflowSettings() {
        if (mlflow == null) {
            mlflow = dev.kiln.training.mlflow.MlflowSettings.parse(config.config());
        }
        return mlflow;
    }

    /**
     * Mirrors what MLflow lacks of the registry (every model's, or {@code model}'s): runs with their candidates, model
     * versions with Kiln's numbers, aliases. Idempotent: a second call changes nothing. Refused when the mirror is off.
     */
    public dev.kiln.training.mlflow.MlflowMirror.Outcome syncMlflow(Optional<String> model) {
        if (!mlflowSettings().enabled()) {
            throw new KilnException("the MLflow mirror is off: set kiln.mlflow.enabled = true and kiln.mlflow.tracking-uri"
                    + " (configuration.md) to mirror the registry into an MLflow tracking server");
        }
        return job("models sync" + model.map(m -> " " + m).orElse(""), runId -> new dev.kiln.training.mlflow.MlflowMirror(
                lakehouse, mlflowSettings(), System.getenv(), progress).sync(model), o -> new JobRows(null, (long) (o.runs()
                + o.versions() + o.aliases()), null));
    }

    /** After a training or a promotion: mirror the model when the mirror is on; a failure is one warning line, never fatal. */
    private void mirrorToMlflow(String model) {
        if (!mlflowSettings().enabled()) {
            return; // nothing connects
        }
        try {
            dev.kiln.training.mlflow.MlflowMirror.Outcome o = new dev.kiln.training.mlflow.MlflowMirror(lakehouse, mlflowSettings(),
                    System.getenv(), progress).sync(Optional.of(model));
            progress.accept(o.summary());
        } catch (RuntimeException e) {
            progress.accept("warning: MLflow mirror of " + model + " failed (" + KilnException.firstLine(String.valueOf(e.getMessage()))
                    + "); Kiln's registry has it: run kiln models sync when MLflow is back");
        }
    }

    /**
     * Retrains a registered version from its pinned training set, split and seed and compares params and metrics
     * with the registered ones. Registers nothing.
     */
    public Reproduction reproduce(String model, int version) {
        ModelSpec spec = modelSpec(model);
        ModelVersion registered = new ModelRegistry(lakehouse).get(spec.name(), version);
        return job("train " + model + " --reproduce " + version, runId -> new Trainer(lakehouse, progress).reproduce(spec, registered),
                x -> JobRows.NONE);
    }

    /** A registered model version by URI: {@code models:/<name>/<version>} or {@code models:/<name>@<alias>}. */
    public ModelVersion model(String uri) {
        return model(ModelUri.parse(uri));
    }

    public ModelVersion model(ModelUri uri) {
        return new ModelRegistry(lakehouse).resolve(uri);
    }

    /** A registered model version by URI with its saved MLlib pipeline loaded, and its signature (what it reads). */
    public LoadedModel loadModel(String uri) {
        return LoadedModel.load(model(uri));
    }

    public LoadedModel loadModel(ModelUri uri) {
        return LoadedModel.load(model(uri));
    }

    /** The version an alias of a model points at, if it points at one. */
    public Optional<Integer> alias(String name, String alias) {
        return new ModelRegistry(lakehouse).alias(name, alias);
    }

    /** {@code ml.training_runs}: every grid point of every training (params, validation metrics, fit time, the one chosen). */
    public Dataset<Row> trainingRuns() {
        return new dev.kiln.training.registry.TrainingRuns(lakehouse).list();
    }

    /**
     * Writes MLflow's files ({@code MLmodel} with the spark and python_function flavors, the signature, the environment
     * files) into the directory of every registered version that lacks them, of {@code model} or of every model; a
     * version that has them is left alone, so a second run writes nothing. Returns the directories written.
     */
    public List<String> exportMlflow(Optional<String> model) {
        return job("models export-mlflow" + model.map(m -> " " + m).orElse(""), runId -> {
            List<String> written = new java.util.ArrayList<>();
            if (!lakehouse.exists(ModelRegistry.MODELS)) {
                return written;
            }
            org.apache.hadoop.conf.Configuration hadoop = lakehouse.spark().sparkContext().hadoopConfiguration();
            Dataset<Row> versions = models().select("name", "version");
            if (model.isPresent()) {
                versions = versions.where(org.apache.spark.sql.functions.col("name").equalTo(model.get()));
            }
            for (Row r : versions.collectAsList()) {
                ModelVersion v = new ModelRegistry(lakehouse).get(r.getString(0), r.getInt(1));
                if (dev.kiln.training.registry.MlflowModel.exists(v.artifactPath(), hadoop)) {
                    continue;
                }
                LoadedModel loaded = LoadedModel.load(v);
                org.apache.spark.sql.types.StructType schema = rows(trainingSetById(v.trainingSetId())).schema();
                Map<String, org.apache.spark.sql.types.DataType> inputs = new java.util.LinkedHashMap<>();
                loaded.signature().inputs().forEach(c -> inputs.put(c, schema.apply(c).dataType()));
                String data = LoadedModel.pipelinePath(v).equals(v.artifactPath()) ? "." : dev.kiln.training.registry.MlflowModel.SPARK_MODEL_DIR;
                dev.kiln.training.registry.MlflowModel.write(v.artifactPath(), data, inputs, v.createdAt(),
                        dev.kiln.training.registry.MlflowModel.newUuid(), hadoop);
                progress.accept(v.uri() + ": MLflow model files written to " + v.artifactPath());
                written.add(v.artifactPath());
            }
            return written;
        }, x -> new JobRows(null, (long) x.size(), null));
    }

    /** {@code ml.models}: every registered version. */
    public Dataset<Row> models() {
        return new ModelRegistry(lakehouse).list();
    }

    /**
     * Points {@code alias} at a version; with {@code ifBetterThan}, only when the version's metric beats the
     * version that alias points at (the gate). Promoting to where the alias already points changes nothing.
     */
    public Promotion promote(String name, int version, String alias, Optional<String> ifBetterThan) {
        String who = System.getProperty("user.name", "unknown");
        Promotion p = job("models promote " + name + " " + version + " --alias " + alias,
                runId -> new ModelRegistry(lakehouse).promote(name, version, alias, ifBetterThan, who), x -> JobRows.NONE);
        if (p.promoted()) {
            mirrorToMlflow(name);
        }
        return p;
    }

    // ---------------------------------------------------------------- scoring

    /**
     * Scores events the caller gives with a registered model, writing nothing: the events (with the model's
     * training-set columns, entity keys and event time) joined point in time to the features the model was
     * trained with, and the prediction columns of {@code ml.predictions} ({@code score}, {@code predicted_label},
     * model name and version, feature set versions, training set id). For the same events, the scores equal
     * those {@link #scoreDays} writes.
     */
    public Dataset<Row> score(Dataset<Row> events, String uri) {
        return score(events, ModelUri.parse(uri));
    }

    public Dataset<Row> score(Dataset<Row> events, ModelUri uri) {
        return new BatchScorer(lakehouse, featureSets(), progress).score(requireNonNull(events, "events is null"), uri);
    }

    /**
     * Scores the events of a day range with one or more models in one pass into {@code ml.predictions}. One
     * commit replaces exactly those models' rows for those days, so a re-run replaces them, never duplicates.
     */
    public ScoringResult scoreDays(List<String> uris, LocalDate from, LocalDate to) {
        return scoreWindow(uris.stream().map(ModelUri::parse).toList(), from, to);
    }

    /** {@link #scoreDays} with the models' URIs parsed already. */
    public ScoringResult scoreWindow(List<ModelUri> uris, LocalDate from, LocalDate to) {
        List<ModelUri> parsed = List.copyOf(uris);
        return job("score " + String.join(" ", parsed.stream().map(ModelUri::toString).toList()) + " " + from + ".." + to,
                runId -> new BatchScorer(lakehouse, featureSets(), progress).score(parsed, from, to, runId),
                x -> JobRows.out(x.rowsPerModel().values().stream().mapToLong(Long::longValue).sum()));
    }

    /** {@code ml.predictions}. */
    public Dataset<Row> predictions() {
        return lakehouse.read(BatchScorer.PREDICTIONS);
    }

    // ---------------------------------------------------------------- reports

    /**
     * Joins a model's predictions of a day range to the outcomes and writes {@code reports.evaluation}, overall
     * and per value of each {@code sliceBy} column (its {@code top} most frequent values). A re-run replaces that
     * model version's rows for that window.
     */
    public List<EvaluationMetric> evaluate(String uri, LocalDate from, LocalDate to, List<String> sliceBy, int top) {
        return evaluate(ModelUri.parse(uri), from, to, sliceBy, top);
    }

    public List<EvaluationMetric> evaluate(ModelUri parsed, LocalDate from, LocalDate to, List<String> sliceBy, int top) {
        return job("evaluate " + parsed + " " + from + ".." + to,
                runId -> List.copyOf(new Evaluator(lakehouse, featureSets(), progress).evaluate(parsed, from, to, sliceBy, top, runId)),
                x -> new JobRows(x.isEmpty() ? null : x.get(0).rows(), (long) x.size(), null));
    }

    /**
     * Compares a model's inputs and score in {@code current} with {@code reference} (empty: the model's training
     * window) and writes {@code reports.drift} and {@code reports.data_profile} (replacing the same model version and
     * windows), and a row in {@code reports.alerts} per breached threshold; on a breach, {@code trigger} (if given)
     * is asked for a retraining.
     */
    public DriftOutcome drift(String uri, Optional<DriftWindow> reference, DriftWindow current, Optional<RetrainTrigger> trigger) {
        return drift(ModelUri.parse(uri), reference, current, trigger);
    }

    public DriftOutcome drift(ModelUri parsed, Optional<DriftWindow> reference, DriftWindow current, Optional<RetrainTrigger> trigger) {
        DriftThresholds thresholds = driftThresholds(parsed);
        return job("drift " + parsed + " " + current,
                runId -> new DriftMonitor(lakehouse, featureSets(), progress).run(parsed, reference, current, thresholds, trigger, runId),
                x -> new JobRows(x.referenceRows() + x.currentRows(), (long) x.drift().size(), null));
    }

    /** The drift thresholds of a model ({@code kiln.drift.thresholds} with the model's own on top), parsed once. */
    public DriftThresholds driftThresholds(ModelUri uri) {
        return driftThresholds.computeIfAbsent(uri.name(), n -> DriftThresholds.parse(config.config(), n));
    }

    /**
     * Estimates a binary model's performance on a scored window before its outcomes exist, from the scores alone,
     * and writes {@code reports.performance_estimate} (replacing that model version's rows for that window), overall
     * and per value of each {@code sliceBy} column; an overall estimate below its floor
     * ({@code models.<name>.monitor.min-estimated}) is a row in {@code reports.alerts}, and {@code trigger} (if given) is
     * asked for a retraining.
     */
    public PerformanceEstimator.Outcome estimate(ModelUri parsed, LocalDate from, LocalDate to, List<String> sliceBy, int top,
            Optional<RetrainTrigger> trigger) {
        EstimateFloors floors = estimateFloors(parsed);
        return job("estimate " + parsed + " " + from + ".." + to,
                runId -> new PerformanceEstimator(lakehouse, progress).run(parsed, from, to, sliceBy, top, floors, trigger, runId),
                x -> new JobRows(x.metrics().isEmpty() ? null : x.metrics().get(0).rows(), (long) x.metrics().size(), null));
    }

    /** The floors under a model's estimated performance ({@code models.<name>.monitor.min-estimated}), parsed once. */
    public EstimateFloors estimateFloors(ModelUri uri) {
        return estimateFloors.computeIfAbsent(uri.name(), n -> EstimateFloors.parse(config.config(), n));
    }

    /** {@code reports.performance_estimate}. */
    public Dataset<Row> performanceEstimates() {
        return lakehouse.read(PerformanceEstimator.TABLE);
    }

    /** {@code reports.evaluation}. */
    public Dataset<Row> evaluationReport() {
        return lakehouse.read(Evaluator.TABLE);
    }

    /** {@code reports.drift}. */
    public Dataset<Row> driftReport() {
        return lakehouse.read(DriftMonitor.DRIFT);
    }

    /** {@code reports.data_profile}. */
    public Dataset<Row> dataProfile() {
        return lakehouse.read(DriftMonitor.PROFILE);
    }

    /**
     * Writes the self-contained HTML report of a model version and a day range, from Kiln's tables alone, to
     * {@code <root>/reports/html/<model>/<version>/<from>_<to>.html} (replacing the same version and window), and lists
     * it in {@code reports.html_reports}.
     */
    public ModelReport.Written report(ModelUri parsed, LocalDate from, LocalDate to) {
        return job("report " + parsed + " " + from + ".." + to, runId -> new ModelReport(lakehouse, featureSets(), progress).write(parsed, from, to, runId),
                x -> new JobRows(null, (long) x.charts().size(), null));
    }

    public ModelReport.Written report(String uri, LocalDate from, LocalDate to) {
        return report(ModelUri.parse(uri), from, to);
    }

    /** {@code reports.html_reports}: the HTML reports written. */
    public Dataset<Row> htmlReports() {
        return lakehouse.read(ModelReport.TABLE);
    }

    /** {@code reports.alerts}. */
    public Dataset<Row> alerts() {
        return lakehouse.read(DriftMonitor.ALERTS);
    }

    /** The plan of every job of the configured pipelines that does SQL work, not run (see {@link JobPlans}). */
    public Map<String, java.util.function.Supplier<Dataset<Row>>> plans() {
        return new JobPlans(this, lakehouse, config, featureSets(), trainingSetBuilder()).all();
    }

    // ---------------------------------------------------------------- maintenance

    /** Compacts a table's small files (OPTIMIZE, Z-ordered by {@code zOrderBy} when given); returns Delta's metrics. */
    public Dataset<Row> optimize(String table, List<String> zOrderBy) {
        TableName name = TableName.parse(table);
        return job("optimize " + name, runId -> new TableMaintenance(lakehouse).optimize(name, zOrderBy), x -> JobRows.NONE);
    }

    /**
     * Deletes files no recent version references (VACUUM), keeping {@code retentionHours} of history (null: Delta's
     * default, 168 h; Delta rounds it to whole hours) and never less than the versions that registered training sets
     * and model versions pin still need: the retention grows to keep them, and the result says which. With {@code force} the requested retention
     * applies anyway (the pins it breaks are listed). Delta's own check still refuses retentions under its safety
     * limit unless {@code spark.databricks.delta.retentionDurationCheck.enabled} is false. A re-run deletes nothing new.
     */
    public Vacuumed vacuum(String table, Double retentionHours, boolean force) {
        TableName name = TableName.parse(table);
        return job("vacuum " + name + (force ? " --force" : ""),
                runId -> new PinnedVacuum(lakehouse, progress).vacuum(name, retentionHours, force), x -> JobRows.NONE);
    }

    /** {@code ops.job_runs}. */
    public Dataset<Row> runs() {
        return lakehouse.read(JobRunLog.TABLE);
    }

    private <T> T job(String name, java.util.function.Function<String, T> body, java.util.function.Function<T, JobRows> rows) {
        return Runs.record(lakehouse, config.hash(), arguments, name, progress, body, rows, lineage());
    }
}
