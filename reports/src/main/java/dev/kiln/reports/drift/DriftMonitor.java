package dev.kiln.reports.drift;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.when;

import dev.kiln.features.definition.FeatureSets;
import dev.kiln.features.trainingset.TrainingSet;
import dev.kiln.features.trainingset.TrainingSetBuilder;
import dev.kiln.features.trainingset.TrainingSetRegistry;
import dev.kiln.features.trainingset.TrainingSetSpec;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.SideBySide;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import dev.kiln.lakehouse.commit.Predicate;
import dev.kiln.lakehouse.fault.CrashPoint;
import dev.kiln.reports.Alerts;
import dev.kiln.training.LoadedModel;
import dev.kiln.training.ModelSignature;
import dev.kiln.training.registry.ModelRegistry;
import dev.kiln.training.registry.ModelUri;
import dev.kiln.training.registry.ModelVersion;
import java.sql.Date;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * {@code kiln drift}: a model's inputs and score in a current window compared with a reference window (by
 * default the model's training window). Both windows are built by the point-in-time code path that scoring
 * uses and scored by the model itself, so the comparison does not depend on which days were scored before.
 *
 * <p>Writes {@code reports.drift} (one row per input and metric, with threshold and status) and
 * {@code reports.data_profile} (per column and window), each replacing earlier rows of the same model version
 * and windows, so a re-run is idempotent. Every breach adds a row to {@code reports.alerts} unless an alert with
 * the same model version, input, metric, value, windows and retrain outcome is there already (a re-run after a kill adds none);
 * with a {@link RetrainTrigger}, one retraining is requested per run that breached.
 */
public final class DriftMonitor {
    public static final TableName DRIFT = TableName.of("reports", "drift");
    public static final TableName PROFILE = TableName.of("reports", "data_profile");
    public static final TableName PROFILE_BINS = TableName.of("reports", "data_profile_bins");
    public static final TableName ALERTS = Alerts.TABLE;
    public static final String SCORE = "score";

    static final StructType DRIFT_SCHEMA = new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("model_name", DataTypes.StringType, false)
            .add("model_version", DataTypes.IntegerType, false)
            .add("reference_from", DataTypes.DateType, false)
            .add("reference_to", DataTypes.DateType, false)
            .add("current_from", DataTypes.DateType, false)
            .add("current_to", DataTypes.DateType, false)
            .add("feature", DataTypes.StringType, false)
            .add("kind", DataTypes.StringType, false)
            .add("metric", DataTypes.StringType, false)
            .add("value", DataTypes.DoubleType, true)
            .add("threshold", DataTypes.DoubleType, true)
            .add("status", DataTypes.StringType, false)
            .add("created_at", DataTypes.TimestampType, false);

    /** The leading columns of a profile row ({@code reports.data_profile} and its bins): run, model version, window, column. */
    private static StructType profileColumns() {
        return new StructType()
                .add("run_id", DataTypes.StringType, false)
                .add("model_name", DataTypes.StringType, false)
                .add("model_version", DataTypes.IntegerType, false)
                .add("window", DataTypes.StringType, false)
                .add("window_from", DataTypes.DateType, false)
                .add("window_to", DataTypes.DateType, false)
                .add("column_name", DataTypes.StringType, false);
    }

    static final StructType PROFILE_SCHEMA = profileColumns()
            .add("kind", DataTypes.StringType, false)
            .add("statistic", DataTypes.StringType, false)
            .add("value", DataTypes.DoubleType, true)
            .add("text", DataTypes.StringType, true)
            .add("created_at", DataTypes.TimestampType, false);

    static final StructType PROFILE_BINS_SCHEMA = profileColumns()
            .add("bin", DataTypes.IntegerType, false)
            .add("lower", DataTypes.DoubleType, false)
            .add("upper", DataTypes.DoubleType, false)
            .add("count", DataTypes.LongType, false)
            .add("created_at", DataTypes.TimestampType, false);

    private final Lakehouse lakehouse;
    private final FeatureSets sets;
    private final Consumer<String> progress;

    public DriftMonitor(Lakehouse lakehouse, FeatureSets sets, Consumer<String> progress) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
        this.sets = requireNonNull(sets, "sets is null");
        this.progress = requireNonNull(progress, "progress is null");
    }

    public DriftOutcome run(ModelUri uri, Optional<DriftWindow> referenceWindow, DriftWindow current, DriftThresholds thresholds,
            Optional<RetrainTrigger> trigger, String runId) {
        long begin = System.nanoTime();
        ModelVersion m = new ModelRegistry(lakehouse).resolve(uri);
        TrainingSetRegistry trainingSets = new TrainingSetRegistry(lakehouse);
        TrainingSetSpec spec = trainingSets.spec(m.trainingSetId());
        DriftWindow reference = referenceWindow.orElseGet(() -> trainingWindow(m, trainingSets.get(m.trainingSetId())));
        LoadedModel model = LoadedModel.load(m);
        ModelSignature inputs = model.signature();
        progress.accept(String.format("drift %s: %d numeric and %d categorical inputs plus the score, reference %s, current %s"
                + " (model resolved and loaded in %.1f s)", m.uri(), inputs.observedNumericInputs().size(),
                inputs.categoricalInputs().size(), reference, current, (System.nanoTime() - begin) / 1e9));
        List<String> numeric = new ArrayList<>(inputs.observedNumericInputs());
        numeric.add(SCORE);
        // DriftStatistics reads its input once: the point-in-time join and the model run in the same Spark job
        // that counts the values of every column. Windows that do not overlap share one join, each row tagged
        // with its window.
        DriftStatistics.Result result;
        try {
            long start = System.nanoTime();
            boolean overlap = !reference.to().isBefore(current.from()) && !current.to().isBefore(reference.from());
            if (overlap) {
                result = DriftStatistics.compute(scored(spec, model, List.of(reference), "reference", List.of()),
                        scored(spec, model, List.of(current), "current", List.of()), numeric, inputs.categoricalInputs());
            } else {
                Dataset<Row> rows = scored(spec, model, List.of(reference, current), "compared", List.of(spec.eventTime()));
                Column t = rows.col(dev.kiln.lakehouse.catalog.Identifiers.quote(spec.eventTime()));
                Column window = when(within(t, reference), lit(0)).when(within(t, current), lit(1));
                result = DriftStatistics.compute(rows, window, numeric, inputs.categoricalInputs());
            }
            progress.accept(String.format("drift: both windows joined point in time, scored and compared over %d columns in %.1f s",
                    numeric.size() + inputs.categoricalInputs().size(), (System.nanoTime() - start) / 1e9));
        } catch (KilnException e) {
            throw new KilnException("drift of " + m.uri() + " (reference " + reference + ", current " + current + "): " + e.getMessage(), e);
        }
        List<Drift> drift = new ArrayList<>();
        for (DriftStatistics.Metric x : result.drift()) {
            drift.add(new Drift(x.column(), x.kind().name().toLowerCase(java.util.Locale.ROOT), x.metric(), x.value(),
                    thresholds.byMetric().get(x.metric()), thresholds.status(x.metric(), x.value())));
        }
        Timestamp now = Timestamp.from(Instant.now());
        long writing = System.nanoTime();
        writeReports(runId, m, reference, current, drift, result, now);
        progress.accept(String.format("drift: %s, %s and %s written in %.1f s", DRIFT, PROFILE, PROFILE_BINS,
                (System.nanoTime() - writing) / 1e9));
        List<Drift> breaches = drift.stream().filter(Drift::breached).toList();
        Optional<String> retrainRunId = Optional.empty();
        Optional<String> retrainError = Optional.empty();
        if (!breaches.isEmpty() && trigger.isPresent()) {
            String reason = String.format("drift run %s: %d breach(es) between %s and %s: %s", runId, breaches.size(), reference,
                    current, String.join("; ", breaches.stream().limit(3).map(Drift::describe).toList()));
            try {
                retrainRunId = Optional.of(trigger.get().requestRetrain(m.name(), reason, runId));
                progress.accept("drift: retraining of " + m.name() + " requested (run " + retrainRunId.get() + ")");
            } catch (RuntimeException e) {
                retrainError = Optional.of(KilnException.firstLine(String.valueOf(e.getMessage())));
                progress.accept("drift: requesting the retraining of " + m.name() + " failed: " + retrainError.get());
            }
        }
        if (!breaches.isEmpty()) {
            writeAlerts(runId, m, reference, current, breaches, retrainRunId, retrainError, now);
        }
        CrashPoint.reached(CrashPoint.DRIFT_AFTER_ALERTS);
        progress.accept(String.format("drift %s: %,d reference rows, %,d current rows, %d metrics, %d breach(es)", m.uri(),
                result.referenceRows(), result.currentRows(), drift.size(), breaches.size()));
        return new DriftOutcome(runId, m, reference, current, result.referenceRows(), result.currentRows(), drift, retrainRunId,
                retrainError);
    }

    /**
     * The plans of a drift run's SQL work, not run (for plan reports such as {@code kiln gpu-plan}): the model's training
     * window against every later event, joined point in time and scored, then the value counts of the numeric inputs
     * and the score, and of the categorical inputs.
     */
    public List<Dataset<Row>> plans(ModelUri uri) {
        ModelVersion m = new ModelRegistry(lakehouse).resolve(uri);
        TrainingSetRegistry trainingSets = new TrainingSetRegistry(lakehouse);
        TrainingSetSpec spec = trainingSets.spec(m.trainingSetId());
        DriftWindow reference = trainingWindow(m, trainingSets.get(m.trainingSetId()));
        DriftWindow current = new DriftWindow(reference.to().plusDays(1), LocalDate.of(9999, 12, 30));
        LoadedModel model = LoadedModel.load(m);
        List<String> numeric = new ArrayList<>(model.signature().observedNumericInputs());
        numeric.add(SCORE);
        Dataset<Row> rows = scored(spec, model, List.of(reference, current), "compared", List.of(spec.eventTime()));
        Column t = rows.col(dev.kiln.lakehouse.catalog.Identifiers.quote(spec.eventTime()));
        return DriftStatistics.plans(rows, when(within(t, reference), lit(0)).when(within(t, current), lit(1)), numeric,
                model.signature().categoricalInputs());
    }

    /** Event time {@code t} falls on a day of window {@code w}. */
    private static Column within(Column t, DriftWindow w) {
        return t.geq(lit(w.start())).and(t.lt(lit(w.end())));
    }

    /** The days the model was trained on: the training set's first event day up to the day before train-until. */
    private DriftWindow trainingWindow(ModelVersion m, TrainingSet set) {
        if (m.trainUntil() == null) {
            throw new KilnException(m.uri() + " has no training window on record: give --reference FROM..TO");
        }
        Row first = lakehouse.read(set.table()).agg(org.apache.spark.sql.functions.min(col(set.eventTime()))).first();
        if (first.isNullAt(0)) {
            throw new KilnException("training set " + set.id() + " of " + m.uri() + " has no rows: give --reference FROM..TO");
        }
        LocalDate from = toDate(first.get(0));
        LocalDateTime until = m.trainUntil();
        LocalDate to = until.toLocalTime().equals(java.time.LocalTime.MIDNIGHT) ? until.toLocalDate().minusDays(1) : until.toLocalDate();
        return new DriftWindow(from, to);
    }

    private static LocalDate toDate(Object v) {
        if (v instanceof LocalDateTime t) {
            return t.toLocalDate();
        }
        if (v instanceof Timestamp t) {
            return dev.kiln.lakehouse.EventTime.utcWallClock(t).toLocalDate();
        }
        if (v instanceof Date d) {
            return d.toLocalDate();
        }
        if (v instanceof LocalDate d) {
            return d;
        }
        return LocalDate.parse(v.toString().substring(0, 10));
    }

    /** The window's events with the model's inputs, point in time, the model's score, and the event columns in {@code keep}. */
    private Dataset<Row> scored(TrainingSetSpec spec, LoadedModel model, List<DriftWindow> windows, String which, List<String> keep) {
        Dataset<Row> rows = new TrainingSetBuilder(lakehouse, sets, progress).scoringRows(spec, model.version().featureRefs(),
                windows.stream().map(w -> new TrainingSetBuilder.EventRange(w.start(), w.end())).toList());
        String w = String.join(" and ", windows.stream().map(DriftWindow::toString).toList());
        ModelSignature signature = model.signature();
        List<String> needed = new ArrayList<>(signature.observedNumericInputs());
        needed.addAll(signature.categoricalInputs());
        Dataset<Row> transformed = model.transform(rows, "the " + which + " window(s) " + w);
        List<Column> out = new ArrayList<>();
        needed.forEach(c -> out.add(col(dev.kiln.lakehouse.catalog.Identifiers.quote(c))));
        keep.stream().filter(c -> !needed.contains(c)).forEach(c -> out.add(col(dev.kiln.lakehouse.catalog.Identifiers.quote(c))));
        out.add(signature.score().as(SCORE));
        return transformed.select(out.toArray(Column[]::new));
    }

    private void writeReports(String runId, ModelVersion m, DriftWindow reference, DriftWindow current, List<Drift> drift,
            DriftStatistics.Result result, Timestamp now) {
        List<Row> driftRows = new ArrayList<>();
        for (Drift d : drift) {
            driftRows.add(RowFactory.create(runId, m.name(), m.version(), Date.valueOf(reference.from()), Date.valueOf(reference.to()),
                    Date.valueOf(current.from()), Date.valueOf(current.to()), d.feature(), d.kind(), d.metric(), d.value(),
                    d.threshold(), d.status().text(), now));
        }
        List<Row> profileRows = new ArrayList<>();
        for (DriftStatistics.ProfileValue p : result.profile()) {
            DriftWindow w = p.window().equals("reference") ? reference : current;
            profileRows.add(RowFactory.create(runId, m.name(), m.version(), p.window(), Date.valueOf(w.from()), Date.valueOf(w.to()),
                    p.column(), p.kind().name().toLowerCase(java.util.Locale.ROOT), p.statistic(), p.value(), p.text(), now));
        }
        List<Row> binRows = new ArrayList<>();
        for (DriftStatistics.BinCount b : result.bins()) {
            DriftWindow w = b.window().equals("reference") ? reference : current;
            binRows.add(RowFactory.create(runId, m.name(), m.version(), b.window(), Date.valueOf(w.from()), Date.valueOf(w.to()),
                    b.column(), b.bin(), b.lower(), b.upper(), b.count(), now));
        }
        Predicate model = Predicate.eq("model_name", m.name()).and(Predicate.eq("model_version", m.version()));
        lakehouse.createIfMissing(PROFILE, PROFILE_SCHEMA, List.of(), "Data profiles of model inputs per window (kiln drift)", Map.of());
        lakehouse.createIfMissing(PROFILE_BINS, PROFILE_BINS_SCHEMA, List.of(),
                "Histograms of numeric model inputs and the score per window, edges shared by both windows (kiln drift)", Map.of());
        lakehouse.createIfMissing(DRIFT, DRIFT_SCHEMA, List.of(), "Drift metrics per model input, reference vs current window (kiln drift)",
                Map.of());
        // Two small commits to two tables, independent of each other, side by side; both always finish (or fail)
        // before this returns, the drift's failure first.
        Predicate driftRowsOfRun = Predicate.all(List.of(model, Predicate.eq("reference_from", reference.from()),
                Predicate.eq("reference_to", reference.to()), Predicate.eq("current_from", current.from()),
                Predicate.eq("current_to", current.to())));
        Predicate profileRowsOfRun = model.and(window("reference", reference).or(window("current", current)));
        List<Runnable> writes = List.of(
                () -> replace(DRIFT, DRIFT_SCHEMA, driftRows, driftRowsOfRun),
                () -> replace(PROFILE, PROFILE_SCHEMA, profileRows, profileRowsOfRun),
                () -> replace(PROFILE_BINS, PROFILE_BINS_SCHEMA, binRows, profileRowsOfRun));
        SideBySide.run(writes, 2, w -> {
            w.run();
            return Boolean.TRUE;
        });
    }

    /** The profile rows of one window: {@code window = name AND window_from = .. AND window_to = ..}. */
    private static Predicate window(String name, DriftWindow w) {
        return Predicate.all(List.of(Predicate.eq("window", name), Predicate.eq("window_from", w.from()),
                Predicate.eq("window_to", w.to())));
    }

    private void replace(TableName table, StructType schema, List<Row> rows, Predicate predicate) {
        lakehouse.commits().replace(table, lakehouse.spark().createDataFrame(rows, schema).coalesce(1), predicate).commit();
    }

    private void writeAlerts(String runId, ModelVersion m, DriftWindow reference, DriftWindow current, List<Drift> breaches,
            Optional<String> retrainRunId, Optional<String> retrainError, Timestamp now) {
        List<Alerts.Alert> alerts = new ArrayList<>();
        for (Drift d : breaches) {
            alerts.add(new Alerts.Alert("drift", m.name(), m.version(), d.feature(), d.metric(), d.value(), d.threshold(),
                    d.describe() + " (" + m.uri() + ", reference " + reference + ", current " + current + ")"));
        }
        Alerts.write(lakehouse, runId, alerts, retrainRunId, retrainError, now);
    }
}
