package dev.kiln.api;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import dev.kiln.features.materialize.MaterializedVersion;
import dev.kiln.features.trainingset.TrainingSet;
import dev.kiln.lakehouse.config.ConfigException;
import dev.kiln.lakehouse.config.ConfigSection;
import dev.kiln.lakehouse.ingest.IngestResult;
import dev.kiln.reports.drift.DriftOutcome;
import dev.kiln.reports.drift.DriftWindow;
import dev.kiln.reports.estimate.PerformanceEstimator;
import dev.kiln.reports.html.ModelReport;
import dev.kiln.reports.evaluation.EvaluationMetric;
import dev.kiln.scoring.ScoringResult;
import dev.kiln.training.registry.ModelUri;
import dev.kiln.training.registry.ModelVersion;
import dev.kiln.training.registry.Promotion;
import dev.kiln.training.spec.Algorithm;
import dev.kiln.training.spec.ModelSpec;
import dev.kiln.training.spec.Task;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

/**
 * The reference pipeline, stage by stage, through {@link Kiln}: ingest a dataset, materialize every feature set,
 * build the model's training set, train (or reuse) one version per algorithm, promote the best through the gate
 * to {@code champion} and the others to {@code challenger}, score a day range, evaluate it and measure drift
 * against a reference window. {@code kiln demo} and {@code kiln bench pipeline} both run it; its windows are
 * declared under {@code demo} in the pipeline config. Every stage is idempotent as its verb is, so a re-run adds
 * nothing upstream and replaces the window's predictions and reports.
 */
public final class ReferencePipeline {
    /** What the pipeline runs: the {@code demo} block of the configuration, or a variation of it. */
    public record Plan(String dataset, String model, List<Algorithm> algorithms, boolean scoreChallengers, LocalDate scoreFrom,
            LocalDate scoreTo, boolean estimate, List<String> sliceBy, int top, DriftWindow driftReference, boolean report) {
        public Plan {
            requireNonNull(dataset, "dataset is null");
            requireNonNull(model, "model is null");
            algorithms = List.copyOf(algorithms);
            if (algorithms.isEmpty()) {
                throw new ConfigException("demo.algorithms", "needs at least one algorithm");
            }
            requireNonNull(scoreFrom, "scoreFrom is null");
            requireNonNull(scoreTo, "scoreTo is null");
            sliceBy = List.copyOf(sliceBy);
            requireNonNull(driftReference, "driftReference is null");
        }

        /** Parses {@code demo} of a configuration. */
        public static Plan parse(Config config) {
            ConfigSection root = ConfigSection.root(config);
            if (!root.has("demo")) {
                throw new ConfigException("demo", "missing: the reference pipeline (see conf/pipelines/flights.conf)");
            }
            ConfigSection d = root.section("demo");
            String model = d.string("model");
            ModelSpec spec = ModelSpec.parse(config, model);
            List<Algorithm> algorithms = new ArrayList<>();
            List<String> names = d.strings("algorithms");
            for (int i = 0; i < names.size(); i++) {
                algorithms.add(Algorithm.parse(names.get(i), spec.task(), d.at("algorithms") + "[" + i + "]"));
            }
            return new Plan(d.string("dataset"), model, algorithms, d.bool("score.challengers", false),
                    date(d, "score.from"), date(d, "score.to"), d.bool("estimate", true) && spec.task() == Task.BINARY_CLASSIFICATION,
                    d.strings("evaluate.slice-by"), d.integer("evaluate.top"),
                    new DriftWindow(date(d, "drift-reference.from"), date(d, "drift-reference.to")), d.bool("report", true));
        }

        private static LocalDate date(ConfigSection d, String key) {
            String text = d.string(key);
            try {
                return LocalDate.parse(text);
            } catch (DateTimeParseException e) {
                throw new ConfigException(d.at(key), "'" + text + "' is not a date like 2001-06-01");
            }
        }

        /** The same plan with one algorithm, only the champion scored, no estimate, no slices, no report (what the bench times). */
        public Plan single(Algorithm algorithm) {
            return new Plan(dataset, model, List.of(algorithm), false, scoreFrom, scoreTo, false, List.of(), 0, driftReference, false);
        }

        public DriftWindow scoreWindow() {
            return new DriftWindow(scoreFrom, scoreTo);
        }

        /** The stages in order, with what each does. */
        public List<String> stageNames() {
            List<String> out = new ArrayList<>(List.of("ingest", "features", "training set"));
            algorithms.forEach(a -> out.add(algorithms.size() == 1 ? "train" : "train " + a.text()));
            out.addAll(List.of("promote", "score"));
            if (estimate) {
                out.add("estimate");
            }
            out.addAll(List.of("evaluate", "drift"));
            if (report) {
                out.add("report");
            }
            return out;
        }
    }

    /** Runs one stage: the caller prints progress and times it; {@code rows} counts what the stage moved. */
    public interface Stages {
        <T> T run(String name, String what, Supplier<T> body, ToLongFunction<T> rows);
    }

    /** What a run did, stage by stage. */
    public record Result(IngestResult ingest, List<MaterializedVersion> features, TrainingSet trainingSet,
            List<ModelVersion> candidates, List<String> promotions, ScoringResult predictions,
            Optional<PerformanceEstimator.Outcome> estimate, List<EvaluationMetric> evaluation, DriftOutcome drift,
            Optional<ModelReport.Written> report) {
        public Result {
            features = List.copyOf(features);
            candidates = List.copyOf(candidates);
            promotions = List.copyOf(promotions);
            evaluation = List.copyOf(evaluation);
        }
    }

    private final Kiln kiln;

    public ReferencePipeline(Kiln kiln) {
        this.kiln = requireNonNull(kiln, "kiln is null");
    }

    public Result run(Plan plan, Stages stages) {
        List<String> names = plan.stageNames();
        IngestResult ingest = stages.run("ingest", plan.dataset() + " -> raw." + plan.dataset(), () -> kiln.ingest(plan.dataset()),
                IngestResult::rowsWritten);
        List<MaterializedVersion> features = stages.run("features", "feature sets -> features.*", () -> kiln.materialize(List.of()),
                l -> l.stream().mapToLong(MaterializedVersion::rowsWritten).sum());
        ModelSpec spec = kiln.modelSpec(plan.model());
        TrainingSet set = stages.run("training set", "point in time -> features.training__" + spec.trainingSet() + "__<id>",
                () -> kiln.buildTrainingSet(spec.trainingSet()), TrainingSet::rowCount);
        List<ModelVersion> candidates = new ArrayList<>();
        for (int i = 0; i < plan.algorithms().size(); i++) {
            Algorithm a = plan.algorithms().get(i);
            candidates.add(stages.run(names.get(3 + i), spec.name() + " " + a.text() + ", split " + spec.trainUntil() + " / "
                    + spec.validateUntil() + " -> ml.models", () -> kiln.trainOrReuse(plan.model(), a),
                    v -> v.metrics().get("n_train").longValue()));
        }
        List<String> promotions = stages.run("promote", "the best candidate -> champion (gated)"
                + (candidates.size() > 1 ? ", the others -> challenger" : ""), () -> promote(candidates), l -> 0L);
        List<String> uris = new ArrayList<>(List.of("models:/" + spec.name() + "@champion"));
        if (plan.scoreChallengers() && candidates.size() > 1) {
            uris.add("models:/" + spec.name() + "@challenger");
        }
        ScoringResult predictions = stages.run("score", plan.scoreWindow() + " with " + String.join(" and ", uris)
                + " -> ml.predictions", () -> kiln.scoreDays(uris, plan.scoreFrom(), plan.scoreTo()),
                s -> s.rowsPerModel().values().stream().mapToLong(Long::longValue).sum());
        Optional<PerformanceEstimator.Outcome> estimate = Optional.empty();
        if (plan.estimate()) {
            ModelUri champion = ModelUri.parse(uris.get(0));
            estimate = Optional.of(stages.run("estimate", plan.scoreWindow() + " " + uris.get(0) + " from the scores alone"
                    + " -> reports.performance_estimate", () -> kiln.estimate(champion, plan.scoreFrom(), plan.scoreTo(),
                    plan.sliceBy(), plan.top(), Optional.empty()), o -> o.metrics().isEmpty() ? 0L : o.metrics().get(0).rows()));
        }
        List<EvaluationMetric> evaluation = stages.run("evaluate", plan.scoreWindow() + " " + uris.get(0) + " vs outcomes"
                + " -> reports.evaluation", () -> kiln.evaluate(uris.get(0), plan.scoreFrom(), plan.scoreTo(), plan.sliceBy(),
                plan.top()), l -> l.isEmpty() ? 0L : l.get(0).rows());
        DriftOutcome drift = stages.run("drift", plan.driftReference() + " vs " + plan.scoreWindow()
                + " -> reports.drift, reports.data_profile, reports.alerts", () -> kiln.drift(uris.get(0),
                Optional.of(plan.driftReference()), plan.scoreWindow(), Optional.empty()), o -> o.referenceRows() + o.currentRows());
        Optional<ModelReport.Written> report = Optional.empty();
        if (plan.report()) {
            report = Optional.of(stages.run("report", plan.scoreWindow() + " " + uris.get(0) + " -> <root>/reports/html, reports.html_reports",
                    () -> kiln.report(uris.get(0), plan.scoreFrom(), plan.scoreTo()), w -> w.charts().size()));
        }
        return new Result(ingest, features, set, candidates, promotions, predictions, estimate, evaluation, drift, report);
    }

    /** The better candidate becomes champion through the gate; the others challenger. */
    private List<String> promote(List<ModelVersion> candidates) {
        List<ModelVersion> ranked = new ArrayList<>(candidates);
        ranked.sort(Comparator.comparingDouble(ModelVersion::metricValue));
        if (ModelSpec.largerIsBetter(ranked.get(0).metric())) {
            java.util.Collections.reverse(ranked);
        }
        ModelVersion best = ranked.get(0);
        List<String> out = new ArrayList<>();
        Promotion p = kiln.promote(best.name(), best.version(), "champion", Optional.of("champion"));
        out.add(!p.promoted() && kiln.alias(best.name(), "champion").orElse(-1) == best.version()
                ? "models:/" + best.name() + "@champion is already version " + best.version() : p.message());
        for (ModelVersion other : ranked.subList(1, ranked.size())) {
            out.add(kiln.promote(other.name(), other.version(), "challenger", Optional.empty()).message());
        }
        return out;
    }
}
