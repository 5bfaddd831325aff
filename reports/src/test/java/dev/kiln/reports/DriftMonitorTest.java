package dev.kiln.reports;

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
import dev.kiln.reports.drift.Drift;
import dev.kiln.reports.drift.DriftMonitor;
import dev.kiln.reports.drift.DriftOutcome;
import dev.kiln.reports.drift.DriftStatistics;
import dev.kiln.reports.drift.DriftStatus;
import dev.kiln.reports.drift.DriftThresholds;
import dev.kiln.reports.drift.DriftWindow;
import dev.kiln.reports.drift.RetrainTrigger;
import dev.kiln.training.Trainer;
import dev.kiln.training.registry.ModelRegistry;
import dev.kiln.training.registry.ModelUri;
import dev.kiln.training.registry.ModelVersion;
import dev.kiln.training.spec.Algorithm;
import dev.kiln.training.spec.ModelSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

/** A model's drift end to end: windows, inputs from the saved pipeline, report tables, alerts, the retrain request. */
class DriftMonitorTest {
    private static final Lakehouse LAKEHOUSE = TestLakehouse.get();
    private static final Config CONFIG = ConfigFactory.parseString("""
            feature-sets.dr_store {
              version = 1, entity = [store], source = "raw.dr_events", event-time = ts, grain = day, ttl = 3d
              features = [ { name = hot_rate_3d, agg = "rate(x > 0.5)", window = 3d } ]
            }
            training-sets.dr_hot {
              events = "raw.dr_events", event-time = ts, columns = [ts, store, x], label = "x > 0.5"
              features = ["dr_store:hot_rate_3d"]
            }
            models.dr_model {
              task = binary-classification, training-set = dr_hot, numeric = [x], categorical = [store]
              algorithm = logistic-regression
              grids { logistic-regression { maxIter = [10] } }
              split { train-until = "2024-02-01", validate-until = "2024-02-15" }
            }
            kiln.drift.thresholds { psi = 0.2, js_distance = 0.1, unseen_share = 0.05, null_rate_change = 0.05 }
            """);

    /** Records what it was asked; fails when told to. */
    private static final class RecordingTrigger implements RetrainTrigger {
        final List<String> requests = new ArrayList<>();
        final boolean fail;

        RecordingTrigger(boolean fail) {
            this.fail = fail;
        }

        @Override
        public String requestRetrain(String model, String reason, String driftRunId) {
            requests.add(model + "|" + driftRunId + "|" + reason);
            if (fail) {
                throw new KilnException("Airflow at http://localhost:1 is unreachable");
            }
            return "retrain-" + requests.size();
        }
    }

    @Test
    void flagsAShiftedInputWritesReportsAndAlertsAndRequestsOneRetraining() {
        TableName events = TableName.parse("raw.dr_events");
        LAKEHOUSE.ensureSchema("raw");
        // x is uniform on [0, 1) until 2024-02-20, then squeezed into [0.5, 1); a fifth store opens on that day.
        LAKEHOUSE.spark().sql("SELECT CASE WHEN id % 60 >= 50 AND id % 7 = 0 THEN 'S9' ELSE concat('S', abs(hash(id, 7)) % 4) END AS store,"
                + " cast(timestamp_ntz'2024-01-01 00:00:00' + make_dt_interval(cast(id % 60 AS int), cast(id % 24 AS int), 0, 0)"
                + " AS timestamp_ntz) AS ts,"
                + " CASE WHEN id % 60 >= 50 THEN 0.5 + (abs(hash(id)) % 1000) / 2000.0 ELSE (abs(hash(id)) % 1000) / 1000.0 END AS x"
                + " FROM range(3000)")
                .write().format("delta").option("path", LAKEHOUSE.locationOf(events)).saveAsTable(events.toString());
        FeatureSets sets = FeatureSets.parse(CONFIG);
        new Materializer(LAKEHOUSE, m -> { }).materialize(sets.get("dr_store"));
        TrainingSet set = new TrainingSetBuilder(LAKEHOUSE, sets, m -> { }).build(TrainingSetSpec.parse(CONFIG, "dr_hot"));
        ModelVersion lr = new Trainer(LAKEHOUSE, m -> { }).train(ModelSpec.parse(CONFIG, "dr_model"), Algorithm.LOGISTIC_REGRESSION,
                set, "run-dr");
        new ModelRegistry(LAKEHOUSE).promote("dr_model", lr.version(), "champion", Optional.empty(), "test");

        DriftMonitor monitor = new DriftMonitor(LAKEHOUSE, sets, m -> { });
        DriftThresholds thresholds = DriftThresholds.parse(CONFIG, "dr_model");
        DriftWindow current = DriftWindow.parse("--current", "2024-02-20..2024-02-29");
        RecordingTrigger trigger = new RecordingTrigger(false);
        DriftOutcome o = monitor.run(ModelUri.parse("models:/dr_model@champion"), Optional.empty(), current, thresholds,
                Optional.of(trigger), "drift-1");

        // The reference defaults to the training window: first event day up to the day before train-until.
        assertEquals("2024-01-01..2024-01-31", o.reference().toString());
        long refRows = LAKEHOUSE.read(events).filter("ts < timestamp_ntz'2024-02-01 00:00:00'").count();
        long curRows = LAKEHOUSE.read(events).filter("ts >= timestamp_ntz'2024-02-20 00:00:00'").count();
        assertEquals(refRows, o.referenceRows());
        assertEquals(curRows, o.currentRows());

        // The inputs come from the saved pipeline: x, the feature, and the categorical store, plus the score.
        List<String> features = o.drift().stream().map(Drift::feature).distinct().toList();
        assertEquals(List.of("dr_store__hot_rate_3d", "x", "score", "store"), features);

        // x's PSI is the one computed directly from the source events of both windows.
        DriftStatistics.Result direct = DriftStatistics.compute(
                LAKEHOUSE.read(events).filter("ts < timestamp_ntz'2024-02-01 00:00:00'"),
                LAKEHOUSE.read(events).filter("ts >= timestamp_ntz'2024-02-20 00:00:00'"), List.of("x"), List.of("store"));
        double psi = direct.drift().stream().filter(m -> m.column().equals("x") && m.metric().equals("psi")).findFirst().orElseThrow().value();
        Drift xPsi = o.drift().stream().filter(d -> d.feature().equals("x") && d.metric().equals("psi")).findFirst().orElseThrow();
        assertEquals(psi, xPsi.value(), 1e-12);
        assertEquals(DriftStatus.BREACH, xPsi.status());
        Drift unseen = o.drift().stream().filter(d -> d.feature().equals("store") && d.metric().equals("unseen_share"))
                .findFirst().orElseThrow();
        assertEquals(DriftStatus.BREACH, unseen.status());
        assertEquals(DriftStatus.INFO, o.drift().stream().filter(d -> d.feature().equals("x") && d.metric().equals("ks")).findFirst()
                .orElseThrow().status());

        // Reports and alerts are tables; one retraining was requested for the run, and the alerts carry its id.
        assertEquals(o.drift().size(), LAKEHOUSE.spark().sql("SELECT * FROM reports.drift WHERE run_id = 'drift-1'").count());
        assertTrue(LAKEHOUSE.spark().sql("SELECT * FROM reports.data_profile WHERE run_id = 'drift-1' AND column_name = 'x'"
                + " AND statistic = 'p50'").count() == 2);
        assertEquals(1, trigger.requests.size());
        assertTrue(trigger.requests.get(0).startsWith("dr_model|drift-1|drift run drift-1: "), trigger.requests.get(0));
        Row alerts = LAKEHOUSE.spark().sql("SELECT count(*), min(retrain_run_id), count(retrain_error) FROM reports.alerts"
                + " WHERE run_id = 'drift-1'").first();
        assertEquals((long) o.breaches().size(), alerts.getLong(0));
        assertEquals("retrain-1", alerts.getString(1));
        assertEquals(0L, alerts.getLong(2));

        // A re-run replaces the drift rows of the same windows; a failed retrain request is recorded, not lost.
        RecordingTrigger failing = new RecordingTrigger(true);
        DriftOutcome again = monitor.run(ModelUri.parse("models:/dr_model/" + lr.version()), Optional.empty(), current,
                thresholds, Optional.of(failing), "drift-2");
        assertEquals(o.drift().size(), LAKEHOUSE.read(DriftMonitor.DRIFT).filter("model_name = 'dr_model'").count());
        assertEquals(Optional.of("Airflow at http://localhost:1 is unreachable"), again.retrainError());
        assertEquals(again.breaches().size(), LAKEHOUSE.spark().sql("SELECT * FROM reports.alerts WHERE run_id = 'drift-2'"
                + " AND retrain_error IS NOT NULL").count());

        // Bad input: an unknown alias, a window with no rows; nothing written for either.
        long driftRows = LAKEHOUSE.read(DriftMonitor.DRIFT).count();
        assertEquals("model dr_model has no alias 'nope' (models:/dr_model@nope)", assertThrows(KilnException.class,
                () -> monitor.run(ModelUri.parse("models:/dr_model@nope"), Optional.empty(), current, thresholds, Optional.empty(), "x"))
                .getMessage());
        KilnException empty = assertThrows(KilnException.class, () -> monitor.run(ModelUri.parse("models:/dr_model@champion"),
                Optional.empty(), DriftWindow.parse("--current", "2025-01-01..2025-01-31"), thresholds, Optional.empty(), "x"));
        assertTrue(empty.getMessage().endsWith("the current window has no rows"), empty.getMessage());
        assertEquals(driftRows, LAKEHOUSE.read(DriftMonitor.DRIFT).count());
    }

    @Test
    void thresholdsAreValidatedAndOverriddenPerModel() {
        Config c = ConfigFactory.parseString("kiln.drift.thresholds { psi = 0.2, ks = 0.1 }\n"
                + "models.m.drift.thresholds { psi = 0.3, ks = null }");
        DriftThresholds t = DriftThresholds.parse(c, "m");
        assertEquals(0.3, t.byMetric().get("psi"));
        assertEquals(DriftStatus.INFO, t.status("ks", 0.5));
        assertEquals(DriftStatus.BREACH, t.status("psi", -0.31));
        assertEquals(DriftStatus.NOT_AVAILABLE, t.status("psi", null));
        assertEquals("kiln.drift.thresholds.pis: unknown drift metric 'pis' (known: psi, ks, mean_shift, std_shift, null_rate_change,"
                + " js_distance, chi_square, unseen_share)", assertThrows(KilnException.class,
                () -> DriftThresholds.parse(ConfigFactory.parseString("kiln.drift.thresholds.pis = 1"), "m")).getMessage());
        assertEquals("kiln.drift.thresholds.psi: expected a non-negative number, got -1.0", assertThrows(KilnException.class,
                () -> DriftThresholds.parse(ConfigFactory.parseString("kiln.drift.thresholds.psi = -1"), "m")).getMessage());
        assertEquals("--current '2024-13-01' is not a window like 2001-06-01..2001-06-30 (or one day, 2001-06-01)",
                assertThrows(KilnException.class, () -> DriftWindow.parse("--current", "2024-13-01")).getMessage());
    }
}
