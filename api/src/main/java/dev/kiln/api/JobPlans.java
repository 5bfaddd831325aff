package dev.kiln.api;

import static java.util.Objects.requireNonNull;

import dev.kiln.features.definition.FeatureSetSpec;
import dev.kiln.features.definition.FeatureSets;
import dev.kiln.features.materialize.Materializer;
import dev.kiln.features.trainingset.TrainingSet;
import dev.kiln.features.trainingset.TrainingSetBuilder;
import dev.kiln.features.trainingset.TrainingSetSpec;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.config.ConfigSection;
import dev.kiln.lakehouse.config.KilnConfig;
import dev.kiln.lakehouse.ingest.DatasetSpec;
import dev.kiln.lakehouse.ingest.Ingestion;
import dev.kiln.reports.drift.DriftMonitor;
import dev.kiln.reports.evaluation.Evaluator;
import dev.kiln.training.LoadedModel;
import dev.kiln.training.registry.ModelUri;
import dev.kiln.training.registry.ModelVersion;
import java.time.LocalDateTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * The plan of every job of the configured pipelines that does SQL work, not run (for plan reports such as
 * {@code kiln gpu-plan}): ingest of each dataset, materialization of each feature set, each training-set build, each
 * model's transform of its training set through its champion, and the champion's evaluation and drift statistics over
 * every prediction and event. A job whose inputs do not exist yet throws {@link KilnException} when its plan is asked
 * for.
 */
final class JobPlans {
    private final Kiln kiln;
    private final Lakehouse lakehouse;
    private final KilnConfig config;
    private final FeatureSets featureSets;
    private final TrainingSetBuilder builder;

    JobPlans(Kiln kiln, Lakehouse lakehouse, KilnConfig config, FeatureSets featureSets, TrainingSetBuilder builder) {
        this.kiln = requireNonNull(kiln, "kiln is null");
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
        this.config = requireNonNull(config, "config is null");
        this.featureSets = requireNonNull(featureSets, "featureSets is null");
        this.builder = requireNonNull(builder, "builder is null");
    }

    Map<String, Supplier<Dataset<Row>>> all() {
        Map<String, Supplier<Dataset<Row>>> jobs = new LinkedHashMap<>();
        for (String name : new TreeMap<>(config.datasets()).keySet()) {
            DatasetSpec spec = config.dataset(name);
            jobs.put("ingest " + name, () -> new Ingestion(lakehouse, m -> { }).plan(spec));
        }
        for (FeatureSetSpec spec : featureSets.all().values()) {
            jobs.put("features materialize " + spec.name(), () -> new Materializer(lakehouse, m -> { }).plan(spec));
        }
        ConfigSection c = ConfigSection.root(config.config());
        for (String name : c.keys("training-sets")) {
            TrainingSetSpec spec = kiln.trainingSetSpecNamed(name);
            jobs.put("training-set build " + name, () -> builder.plan(spec));
        }
        for (String name : c.keys("models")) {
            modelJobs(name, jobs);
        }
        return jobs;
    }

    private void modelJobs(String name, Map<String, Supplier<Dataset<Row>>> jobs) {
        String champion = "models:/" + name + "@champion";
        jobs.put("score rows " + champion, () -> {
            // The SQL part of scoring: the events and their features, point in time, over every event.
            ModelVersion m = kiln.model(champion);
            return builder.scoringRows(kiln.trainingSetSpec(m.trainingSetId()), m.featureRefs(),
                    LocalDateTime.of(1900, 1, 1, 0, 0), LocalDateTime.of(9999, 1, 1, 0, 0));
        });
        jobs.put("model transform " + champion, () -> {
            LoadedModel m = kiln.loadModel(champion);
            TrainingSet set = kiln.trainingSetById(m.version().trainingSetId());
            return m.pipeline().transform(lakehouse.read(set.table()));
        });
        ModelUri uri = ModelUri.parse(champion);
        jobs.put("evaluate " + champion, () -> new Evaluator(lakehouse, featureSets, m -> { }).plan(uri));
        // Drift's two value-count jobs (numeric inputs and the score; categorical inputs), one model load for both.
        Supplier<List<Dataset<Row>>> drift = memoized(() -> new DriftMonitor(lakehouse, featureSets, m -> { }).plans(uri));
        jobs.put("drift numeric " + champion, () -> drift.get().get(0));
        jobs.put("drift categorical " + champion, () -> {
            List<Dataset<Row>> plans = drift.get();
            if (plans.size() < 2) {
                throw new KilnException("the model has no categorical inputs");
            }
            return plans.get(1);
        });
    }

    /** {@code supplier}'s value, asked for once, on the first {@code get}. */
    private static <T> Supplier<T> memoized(Supplier<T> supplier) {
        return new Supplier<>() {
            private T value;

            @Override
            public synchronized T get() {
                if (value == null) {
                    value = supplier.get();
                }
                return value;
            }
        };
    }
}
