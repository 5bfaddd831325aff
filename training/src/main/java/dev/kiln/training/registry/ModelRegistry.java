package dev.kiln.training.registry;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.col;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import dev.kiln.lakehouse.commit.Commit;
import dev.kiln.lakehouse.fault.CrashPoint;
import dev.kiln.lakehouse.runlog.JobRun;
import dev.kiln.lakehouse.runlog.JobRunLog;
import dev.kiln.lakehouse.runlog.JobRunRecorder;
import dev.kiln.lakehouse.runlog.RunLiveness;
import dev.kiln.training.decision.Decision;
import java.io.IOException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDateTime;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The model registry: {@code ml.models} (one row per version, with lineage) and {@code ml.model_aliases}
 * (alias to version, who and when). Versions are taken with Delta's optimistic concurrency: a training
 * proposes max+1, and when a concurrent one took it first the commit conflicts and it tries the next.
 */
public final class ModelRegistry {
    public static final TableName MODELS = TableName.of("ml", "models");
    public static final TableName ALIASES = TableName.of("ml", "model_aliases");

    static final StructType MODELS_SCHEMA = new StructType()
            .add("name", DataTypes.StringType, false)
            .add("version", DataTypes.IntegerType, false)
            .add("task", DataTypes.StringType, false)
            .add("algorithm", DataTypes.StringType, false)
            .add("params", DataTypes.createMapType(DataTypes.StringType, DataTypes.StringType), false)
            .add("metric", DataTypes.StringType, false)
            .add("metrics", DataTypes.createMapType(DataTypes.StringType, DataTypes.DoubleType), false)
            .add("training_set_id", DataTypes.StringType, false)
            .add("feature_refs", DataTypes.createArrayType(DataTypes.StringType), false)
            .add("inputs", DataTypes.createMapType(DataTypes.StringType, DataTypes.LongType), false)
            .add("train_until", DataTypes.TimestampNTZType, false)
            .add("validate_until", DataTypes.TimestampNTZType, false)
            .add("seed", DataTypes.LongType, false)
            .add("config_hash", DataTypes.StringType, false)
            .add("run_id", DataTypes.StringType, false)
            .add("created_at", DataTypes.TimestampType, false)
            .add("artifact_path", DataTypes.StringType, false)
            .add("decision", new StructType()
                    .add("policy", DataTypes.StringType, true)
                    .add("threshold", DataTypes.DoubleType, true)
                    .add("precision", DataTypes.DoubleType, true)
                    .add("recall", DataTypes.DoubleType, true)
                    .add("f1", DataTypes.DoubleType, true), true);

    static final StructType ALIASES_SCHEMA = new StructType()
            .add("name", DataTypes.StringType, false)
            .add("alias", DataTypes.StringType, false)
            .add("version", DataTypes.IntegerType, false)
            .add("set_by", DataTypes.StringType, false)
            .add("set_at", DataTypes.TimestampType, false);

    private final Lakehouse lakehouse;

    public ModelRegistry(Lakehouse lakehouse) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
    }

    /** Where a version's PipelineModel lives: {@code <root>/models/<name>/<version>}. */
    public String artifactPath(String name, int version) {
        return lakehouse.settings().root() + "/models/" + name + "/" + version;
    }

    /**
     * Registers a trained model whose PipelineModel was saved at {@code staged}: takes the next version,
     * then moves the artifact to its version's path. If the move fails the row is taken back out, so no
     * version is left half-registered. A registration whose process was killed between the row and the move
     * left a row without an artifact: the next registration of the model takes such rows out first (see
     * {@link #discardInterrupted}), so a re-run after the kill registers the version the killed run had taken.
     */
    public ModelVersion register(ModelVersion model, String staged) {
        return register(model, staged, () -> { });
    }

    /**
     * The same, while the artifact may still be being saved: {@code awaitArtifact} returns once it is (or
     * throws), and is called before the version's row is written.
     */
    public ModelVersion register(ModelVersion model, String staged, Runnable awaitArtifact) {
        createTables();
        discardInterrupted(model.name());
        // A concurrent training that commits first, or that took the proposed version already, is a lost race: the
        // commit path's one policy runs the attempt again, which proposes the next free version.
        return lakehouse.commits().retry().run("registering model " + model.name(), () -> {
            int version = nextVersion(model.name());
            awaitArtifact.run();
            ModelVersion candidate = model.withVersion(version, artifactPath(model.name(), version));
            Commit merged = lakehouse.commits().merge(MODELS, lakehouse.spark().createDataFrame(List.of(toRow(candidate)),
                            MODELS_SCHEMA), col("t.name").equalTo(col("s.name")).and(col("t.version").equalTo(col("s.version"))))
                    .insertAll()
                    .commitOnce();
            if (merged.metric("numTargetRowsInserted") != 1) {
                throw new VersionTaken(model.name(), version);
            }
            CrashPoint.reached(CrashPoint.TRAIN_AFTER_REGISTRY_ROW);
            try {
                move(staged, candidate.artifactPath());
            } catch (RuntimeException e) {
                lakehouse.commits().delete(MODELS, col("name").equalTo(model.name()).and(col("version").equalTo(version)))
                        .commit();
                throw e;
            }
            return candidate;
        });
    }

    /** The proposed version was registered by another run when the MERGE read the table: propose the next one. */
    private static final class VersionTaken extends java.util.ConcurrentModificationException {
        VersionTaken(String name, int version) {
            super("version " + version + " of model " + name + " was registered by another run first");
        }
    }

    /**
     * Takes out the versions of {@code name} whose registration was interrupted: the row is there, the artifact
     * is not, and the run that wrote the row is over (it ended, or {@link RunLiveness} finds its process gone; a
     * row of a run the log does not know counts once it is older than the run log's stale limit). A registration
     * still going in another process (row written, artifact being moved) is left alone. The interrupted run's
     * staged artifact goes too. Returns the versions taken out.
     */
    public List<Integer> discardInterrupted(String name) {
        if (!lakehouse.exists(MODELS)) {
            return List.of();
        }
        JobRunLog runs = new JobRunLog(lakehouse);
        RunLiveness liveness = RunLiveness.here();
        Instant staleBefore = Instant.now().minus(JobRunRecorder.STALE_AFTER);
        List<Integer> discarded = new java.util.ArrayList<>();
        for (ModelVersion m : lakehouse.read(MODELS).filter(col("name").equalTo(name)).collectAsList().stream()
                .map(ModelRegistry::fromRow).toList()) {
            if (exists(m.artifactPath())) {
                continue;
            }
            Optional<JobRun> run = runs.find(m.runId());
            boolean over = run.map(r -> r.status() != JobRun.Status.RUNNING || liveness.whyGone(r).isPresent())
                    .orElse(m.createdAt().isBefore(staleBefore));
            if (!over) {
                continue;
            }
            lakehouse.commits().delete(MODELS, col("name").equalTo(name).and(col("version").equalTo(m.version()))
                    .and(col("run_id").equalTo(m.runId()))).commit();
            delete(lakehouse.settings().root() + "/models/" + name + "/_staging/" + m.runId());
            discarded.add(m.version());
        }
        return List.copyOf(discarded);
    }

    private void delete(String path) {
        try {
            Path p = new Path(path);
            p.getFileSystem(lakehouse.spark().sparkContext().hadoopConfiguration()).delete(p, true);
        } catch (IOException e) {
            throw new KilnException("cannot delete " + path + ": " + e.getMessage(), e);
        }
    }

    private int nextVersion(String name) {
        Row r = lakehouse.read(MODELS).filter(col("name").equalTo(name))
                .agg(org.apache.spark.sql.functions.max("version")).head();
        return r.isNullAt(0) ? 1 : r.getInt(0) + 1;
    }

    private void createTables() {
        for (int i = 0; i < 3; i++) {
            try {
                if (!lakehouse.createIfMissing(MODELS, MODELS_SCHEMA, List.of(), "Registered model versions with lineage",
                        Map.of())) {
                    addMissingColumns();
                }
                lakehouse.createIfMissing(ALIASES, ALIASES_SCHEMA, List.of(), "Model aliases (champion, ...)", Map.of());
                return;
            } catch (RuntimeException e) { // two first trainings creating the tables at once
                if (i == 2) {
                    throw e;
                }
            }
        }
    }

    public Optional<ModelVersion> find(String name, int version) {
        if (!lakehouse.exists(MODELS)) {
            return Optional.empty();
        }
        Row[] rows = (Row[]) lakehouse.read(MODELS).filter(col("name").equalTo(name).and(col("version").equalTo(version))).collect();
        return rows.length == 0 ? Optional.empty() : Optional.of(fromRow(rows[0]));
    }

    /** A registered version; the error names the versions there are. */
    public ModelVersion get(String name, int version) {
        return find(name, version).orElseThrow(() -> new KilnException("model " + name + " has no version " + version
                + " (registered: " + versions(name) + ")"));
    }

    private List<Integer> versions(String name) {
        if (!lakehouse.exists(MODELS)) {
            return List.of();
        }
        return lakehouse.read(MODELS).filter(col("name").equalTo(name)).select("version").orderBy("version")
                .as(org.apache.spark.sql.Encoders.INT()).collectAsList();
    }

    public Optional<Integer> alias(String name, String alias) {
        if (!lakehouse.exists(ALIASES)) {
            return Optional.empty();
        }
        Row[] rows = (Row[]) lakehouse.read(ALIASES).filter(col("name").equalTo(name).and(col("alias").equalTo(alias)))
                .select("version").collect();
        return rows.length == 0 ? Optional.empty() : Optional.of(rows[0].getInt(0));
    }

    /** Resolves a model URI to a registered version whose artifact exists. */
    public ModelVersion resolve(ModelUri uri) {
        int version;
        if (uri.alias().isPresent()) {
            version = alias(uri.name(), uri.alias().get()).orElseThrow(() -> new KilnException("model " + uri.name()
                    + " has no alias '" + uri.alias().get() + "' (" + uri + ")"));
        } else {
            version = uri.version().orElseThrow();
        }
        ModelVersion m = get(uri.name(), version);
        if (!exists(m.artifactPath())) {
            throw new KilnException(uri + " points at version " + version + " whose artifact " + m.artifactPath()
                    + " is missing");
        }
        return m;
    }

    /**
     * Points {@code alias} at a version. With {@code ifBetterThan}, only when the version beats that alias's
     * version on the same metric over the same validation window (or when that alias is not set yet).
     */
    public Promotion promote(String name, int version, String alias, Optional<String> ifBetterThan, String who) {
        ModelVersion candidate = get(name, version);
        if (!exists(candidate.artifactPath())) {
            throw new KilnException("model " + name + " version " + version + " has no artifact at " + candidate.artifactPath());
        }
        String because = "";
        if (ifBetterThan.isPresent()) {
            Optional<Integer> incumbentVersion = alias(name, ifBetterThan.get());
            if (incumbentVersion.isPresent()) {
                ModelVersion incumbent = get(name, incumbentVersion.get());
                if (!incumbent.metric().equals(candidate.metric())) {
                    throw new KilnException("cannot compare " + candidate.uri() + " (tuned on " + candidate.metric() + ") with "
                            + ifBetterThan.get() + " " + incumbent.uri() + " (tuned on " + incumbent.metric() + ")");
                }
                if (!incumbent.trainUntil().equals(candidate.trainUntil())
                        || !incumbent.validateUntil().equals(candidate.validateUntil())) {
                    throw new KilnException("cannot compare " + candidate.uri() + " (validated " + candidate.trainUntil() + " .. "
                            + candidate.validateUntil() + ") with " + ifBetterThan.get() + " " + incumbent.uri() + " (validated "
                            + incumbent.trainUntil() + " .. " + incumbent.validateUntil() + "): not the same validation window");
                }
                double c = candidate.metricValue();
                double i = incumbent.metricValue();
                boolean better = dev.kiln.training.spec.ModelSpec.largerIsBetter(candidate.metric()) ? c > i : c < i;
                String comparison = String.format("%s %s %.6f vs %s v%d %.6f", candidate.metric(), candidate.uri(), c,
                        ifBetterThan.get(), incumbent.version(), i);
                if (!better) {
                    return new Promotion(false, "not promoted: " + comparison + " is not better");
                }
                because = " (" + comparison + ")";
            } else {
                because = " (no " + ifBetterThan.get() + " yet to compare with)";
            }
        }
        createTables();
        Row row = RowFactory.create(name, alias, version, who, Timestamp.from(Instant.now()));
        Dataset<Row> update = CrashPoint.inLastTask(lakehouse.spark().createDataFrame(List.of(row), ALIASES_SCHEMA),
                CrashPoint.PROMOTE_IN_ALIAS_MERGE);
        lakehouse.commits().merge(ALIASES, update, col("t.name").equalTo(col("s.name")).and(col("t.alias").equalTo(col("s.alias"))))
                .updateAll()
                .insertAll()
                .commit();
        return new Promotion(true, "models:/" + name + "@" + alias + " -> version " + version + because);
    }

    /**
     * The newest version of {@code name} trained from training set {@code trainingSetId} with the declaration and
     * algorithm whose hash is {@code configHash}, if one was registered.
     */
    public Optional<ModelVersion> findTrained(String name, String trainingSetId, String configHash) {
        if (!lakehouse.exists(MODELS)) {
            return Optional.empty();
        }
        Row found = list().filter(col("name").equalTo(name).and(col("training_set_id").equalTo(trainingSetId))
                .and(col("config_hash").equalTo(configHash))).agg(org.apache.spark.sql.functions.max("version")).first();
        return found.isNullAt(0) ? Optional.empty() : Optional.of(get(name, found.getInt(0)));
    }

    public Dataset<Row> list() {
        return lakehouse.read(MODELS).orderBy("name", "version");
    }

    private boolean exists(String path) {
        try {
            Path p = new Path(path);
            return p.getFileSystem(lakehouse.spark().sparkContext().hadoopConfiguration()).exists(p);
        } catch (IOException e) {
            throw new KilnException("cannot check " + path + ": " + e.getMessage(), e);
        }
    }

    private void move(String from, String to) {
        try {
            Path src = new Path(from);
            Path dst = new Path(to);
            FileSystem fs = src.getFileSystem(lakehouse.spark().sparkContext().hadoopConfiguration());
            if (fs.exists(dst)) {
                throw new KilnException("model artifact path " + to + " exists already; it belongs to no registered version"
                        + " (a crashed registration?): remove it and train again");
            }
            fs.mkdirs(dst.getParent());
            if (!fs.rename(src, dst)) {
                throw new KilnException("could not move the model artifact from " + from + " to " + to);
            }
        } catch (IOException e) {
            throw new KilnException("could not move the model artifact to " + to + ": " + e.getMessage(), e);
        }
    }

    /** A registry written before a column was added (the decision) gets it, empty for the versions it holds. */
    private void addMissingColumns() {
        List<String> have = List.of(lakehouse.read(MODELS).columns());
        List<String> missing = new java.util.ArrayList<>();
        for (org.apache.spark.sql.types.StructField f : MODELS_SCHEMA.fields()) {
            if (!have.contains(f.name())) {
                missing.add("`" + f.name() + "` " + f.dataType().sql());
            }
        }
        if (!missing.isEmpty()) {
            try {
                lakehouse.spark().sql("ALTER TABLE " + MODELS.quoted() + " ADD COLUMNS (" + String.join(", ", missing) + ")");
            } catch (RuntimeException e) { // another process added them first
                if (!List.of(lakehouse.read(MODELS).columns()).containsAll(List.of(MODELS_SCHEMA.fieldNames()))) {
                    throw e;
                }
            }
        }
    }

    private static Row toRow(ModelVersion m) {
        Row decision = m.decision().map(d -> RowFactory.create(d.policy(), d.threshold(), orNull(d.precision()),
                orNull(d.recall()), orNull(d.f1()))).orElse(null);
        return RowFactory.create(m.name(), m.version(), m.task(), m.algorithm(), scalaMap(m.params()), m.metric(),
                scalaMap(m.metrics()), m.trainingSetId(), CollectionConverters.asScala(m.featureRefs()).toSeq(),
                scalaMap(m.inputs()), m.trainUntil(), m.validateUntil(), m.seed(), m.configHash(), m.runId(),
                Timestamp.from(m.createdAt()), m.artifactPath(), decision);
    }

    private static Double orNull(double v) {
        return Double.isNaN(v) ? null : v;
    }

    private static double orNaN(Row r, String field) {
        Object v = r.getAs(field);
        return v == null ? Double.NaN : ((Number) v).doubleValue();
    }

    private static Optional<Decision> decision(Row r) {
        if (!List.of(r.schema().fieldNames()).contains("decision") || r.isNullAt(r.fieldIndex("decision"))) {
            return Optional.empty();
        }
        Row d = r.getAs("decision");
        return Optional.of(new Decision(d.getAs("policy"), d.<Double>getAs("threshold"), true, orNaN(d, "precision"),
                orNaN(d, "recall"), orNaN(d, "f1")));
    }

    private static <V> scala.collection.immutable.Map<String, V> scalaMap(Map<String, V> map) {
        return scala.collection.immutable.Map.from(CollectionConverters.asScala(new TreeMap<>(map)));
    }

    static ModelVersion fromRow(Row r) {
        return new ModelVersion(r.getAs("name"), r.<Integer>getAs("version"), r.getAs("task"), r.getAs("algorithm"),
                javaMap(r.getAs("params")), r.getAs("metric"), javaMap(r.getAs("metrics")), r.getAs("training_set_id"),
                CollectionConverters.asJava(r.<scala.collection.Seq<String>>getAs("feature_refs")),
                javaMap(r.getAs("inputs")), r.<LocalDateTime>getAs("train_until"), r.<LocalDateTime>getAs("validate_until"),
                r.<Long>getAs("seed"), r.getAs("config_hash"), r.getAs("run_id"), dev.kiln.lakehouse.EventTime.instant(r.getAs("created_at")),
                r.getAs("artifact_path"), decision(r));
    }

    private static <V> Map<String, V> javaMap(scala.collection.Map<String, V> map) {
        return new TreeMap<>(CollectionConverters.asJava(map));
    }
}
