package dev.kiln.reports;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
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
import dev.kiln.reports.drift.DriftMonitor;
import dev.kiln.reports.drift.DriftThresholds;
import dev.kiln.reports.drift.DriftWindow;
import dev.kiln.reports.estimate.EstimateFloors;
import dev.kiln.reports.estimate.PerformanceEstimator;
import dev.kiln.reports.evaluation.Evaluator;
import dev.kiln.reports.html.ModelReport;
import dev.kiln.scoring.BatchScorer;
import dev.kiln.training.Trainer;
import dev.kiln.training.registry.ModelRegistry;
import dev.kiln.training.registry.ModelUri;
import dev.kiln.training.registry.ModelVersion;
import dev.kiln.training.spec.Algorithm;
import dev.kiln.training.spec.ModelSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The HTML report over a small model's real tables (scored, estimated, evaluated with slices, drift): every
 * Vega-Lite spec it embeds validates against Vega-Lite's published JSON schema, the numbers it shows are the
 * tables', and it is one file listed in reports.html_reports. (ReportBrowserIT draws the demo's in Chromium.)
 */
class ModelReportTest {
    private static final Lakehouse LAKEHOUSE = TestLakehouse.get();
    private static final Config CONFIG = ConfigFactory.parseString("""
            feature-sets.rp_store {
              version = 1, entity = [store], source = "raw.rp_events", event-time = ts, grain = day, ttl = 3d
              features = [ { name = hot_rate_3d, agg = "rate(x > 0.5)", window = 3d } ]
            }
            training-sets.rp_hot {
              events = "raw.rp_events", event-time = ts, columns = [ts, store, x], label = "x > 0.5"
              features = ["rp_store:hot_rate_3d"]
            }
            models.rp_model {
              task = binary-classification, training-set = rp_hot, numeric = [x], categorical = [store]
              algorithm = logistic-regression
              grids { logistic-regression { maxIter = [10] } }
              split { train-until = "2024-02-01", validate-until = "2024-02-15" }
            }
            kiln.drift.thresholds { psi = 0.2, js_distance = 0.1, unseen_share = 0.05, null_rate_change = 0.05 }
            """);
    private static final ModelUri CHAMPION = ModelUri.parse("models:/rp_model@champion");
    private static final LocalDate FROM = LocalDate.parse("2024-02-20");
    private static final LocalDate TO = LocalDate.parse("2024-02-29");
    private static final FeatureSets SETS = FeatureSets.parse(CONFIG);
    private static ModelVersion model;

    @BeforeAll
    static void modelScoredEvaluatedAndMonitored() {
        TableName events = TableName.parse("raw.rp_events");
        LAKEHOUSE.ensureSchema("raw");
        // x uniform on [0, 1) until 2024-02-20, then squeezed into [0.5, 1) (a PSI breach); label x > 0.5 with noise.
        LAKEHOUSE.spark().sql("SELECT concat('S', abs(hash(id, 7)) % 4) AS store,"
                + " cast(timestamp_ntz'2024-01-01 00:00:00' + make_dt_interval(cast(id % 60 AS int), cast(id % 24 AS int), 0, 0)"
                + " AS timestamp_ntz) AS ts,"
                + " CASE WHEN id % 60 >= 50 THEN 0.5 + (abs(hash(id)) % 1000) / 2000.0 ELSE (abs(hash(id)) % 1000) / 1000.0 END AS x"
                + " FROM range(3000)")
                .write().format("delta").option("path", LAKEHOUSE.locationOf(events)).saveAsTable(events.toString());
        FeatureSets sets = SETS;
        new Materializer(LAKEHOUSE, m -> { }).materialize(sets.get("rp_store"));
        TrainingSet set = new TrainingSetBuilder(LAKEHOUSE, sets, m -> { }).build(TrainingSetSpec.parse(CONFIG, "rp_hot"));
        model = new Trainer(LAKEHOUSE, m -> { }).train(ModelSpec.parse(CONFIG, "rp_model"), Algorithm.LOGISTIC_REGRESSION, set, "run-rp");
        new ModelRegistry(LAKEHOUSE).promote("rp_model", model.version(), "champion", Optional.empty(), "test");
        new BatchScorer(LAKEHOUSE, sets, m -> { }).score(List.of(CHAMPION), FROM, TO, "score-rp");
        new PerformanceEstimator(LAKEHOUSE, m -> { }).run(CHAMPION, FROM, TO, List.of("store"), 5,
                EstimateFloors.parse(CONFIG, "rp_model"), Optional.empty(), "estimate-rp");
        new Evaluator(LAKEHOUSE, sets, m -> { }).evaluate(CHAMPION, FROM, TO, List.of("store"), 5, "evaluate-rp");
        new DriftMonitor(LAKEHOUSE, sets, m -> { }).run(CHAMPION, Optional.empty(), new DriftWindow(FROM, TO),
                DriftThresholds.parse(CONFIG, "rp_model"), Optional.empty(), "drift-rp");
    }

    @Test
    void everyEmbeddedSpecValidatesAgainstTheVegaLiteSchema() throws Exception {
        // The schema comes from the vega-lite npm package (scripts/fetch-vega.sh; the build copies it to target/vega).
        Path schemaFile = Path.of("target/vega/vega-lite-schema.json");
        assertTrue(Files.exists(schemaFile), "run the reports module's build (generate-resources) first: " + schemaFile);
        ObjectMapper json = new ObjectMapper();
        // Draft 7, as the schema declares; its validators are built as the specs reach them (building all of them up
        // front, the library's default, follows the schema's recursive references without end).
        SchemaValidatorsConfig config = SchemaValidatorsConfig.builder().preloadJsonSchema(false).build();
        JsonSchema schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V7).getSchema(json.readTree(schemaFile.toFile()), config);
        Map<String, String> specs = new ModelReport(LAKEHOUSE, SETS, m -> { }).specs(CHAMPION, FROM, TO);
        // ROC, PR, calibration, slices, estimates, and one distribution per input (x, the feature, store) and the score.
        assertEquals(Set.of("roc", "pr", "calibration", "slices", "estimates", "dist-0", "dist-1", "dist-2", "dist-3"), specs.keySet());
        for (Map.Entry<String, String> e : specs.entrySet()) {
            JsonNode spec = json.readTree(e.getValue());
            Set<ValidationMessage> errors = schema.validate(spec);
            assertTrue(errors.isEmpty(), e.getKey() + ": " + errors);
        }
        // The validator is not a rubber stamp: a mark Vega-Lite does not have fails.
        JsonNode bad = json.readTree(specs.get("slices").replace("\"mark\":\"bar\"", "\"mark\":\"no-such-mark\""));
        assertFalse(schema.validate(bad).isEmpty());
    }

    @Test
    void theReportIsOneListedFileShowingTheTablesNumbers() throws Exception {
        ModelReport.Written w = new ModelReport(LAKEHOUSE, SETS, m -> { }).write(CHAMPION, FROM, TO, "report-rp");
        assertEquals(ModelReport.path(LAKEHOUSE.settings().root(), "rp_model", model.version(), FROM, TO), w.path());
        Path file = Path.of(java.net.URI.create(w.path().startsWith("file:") ? w.path() : "file://" + w.path()));
        String html = Files.readString(file);
        assertEquals(w.bytes(), Files.size(file));
        // Self-contained: no element loads anything from elsewhere (the inlined libraries' own text aside), and the
        // page's policy forbids it.
        String markup = html.replaceAll("(?s)<script>.*?</script>", "<script></script>");
        assertEquals(4, markup.split("<script>", -1).length - 1, "three libraries, then the specs and the code drawing them, all inline");
        assertFalse(Pattern.compile("<(script|link|img|iframe)[^>]+(src|href)=", Pattern.CASE_INSENSITIVE).matcher(markup).find());
        assertTrue(html.contains("default-src 'none'"));
        assertTrue(html.contains("vegaEmbed"));

        Row auc = LAKEHOUSE.spark().sql("SELECT value FROM reports.evaluation WHERE run_id = 'evaluate-rp' AND slice = 'overall'"
                + " AND metric = 'auc_roc'").first();
        assertEquals(auc.getDouble(0), shown(html, "auc_roc"));
        assertEquals(model.decision().orElseThrow().threshold(), shown(html, "threshold"));
        Row psi = LAKEHOUSE.spark().sql("SELECT max(value) FROM reports.drift WHERE run_id = 'drift-rp' AND metric = 'psi'"
                + " AND status = 'breach'").first();
        assertEquals(psi.getDouble(0), shown(html, "psi"));
        assertTrue(html.contains("PSI of the top flagged input"));

        Row listed = LAKEHOUSE.spark().sql("SELECT path, bytes, charts FROM reports.html_reports WHERE model_name = 'rp_model'").first();
        assertEquals(w.path(), listed.getString(0));
        assertEquals(w.bytes(), listed.getLong(1));
        assertEquals(w.charts().size(), listed.getInt(2));
        // A second report of the same version and window replaces the first, file and row.
        new ModelReport(LAKEHOUSE, SETS, m -> { }).write(CHAMPION, FROM, TO, "report-rp-2");
        assertEquals(List.of("report-rp-2"), LAKEHOUSE.spark().sql("SELECT run_id FROM reports.html_reports WHERE model_name = 'rp_model'")
                .as(org.apache.spark.sql.Encoders.STRING()).collectAsList());
    }

    @Test
    void anEvaluationWithoutStoredCurvesGetsTheSameCurvesMeasuredAgain() throws Exception {
        ObjectMapper json = new ObjectMapper();
        ModelReport report = new ModelReport(LAKEHOUSE, SETS, m -> { });
        JsonNode stored = json.readTree(report.specs(CHAMPION, FROM, TO).get("roc"));
        // As an evaluation written before reports.evaluation_curves existed: its metrics, no curve rows.
        LAKEHOUSE.spark().sql("DELETE FROM reports.evaluation_curves WHERE model_name = 'rp_model'");
        try {
            JsonNode measured = json.readTree(report.specs(CHAMPION, FROM, TO).get("roc"));
            assertEquals(stored.path("layer").get(0).path("data"), measured.path("layer").get(0).path("data"));
            assertTrue(stored.path("layer").get(0).path("data").path("values").size() > 10);
            assertTrue(report.render(CHAMPION, FROM, TO).contains("measured for this report"));
        } finally {
            new Evaluator(LAKEHOUSE, SETS, m -> { }).evaluate(CHAMPION, FROM, TO, List.of("store"), 5, "evaluate-rp");
        }
    }

    @Test
    void aWindowWithoutEvaluationOrDriftSaysWhatToRunAndAnEmptyWindowIsAnError() {
        String html = new ModelReport(LAKEHOUSE, SETS, m -> { }).render(CHAMPION, LocalDate.parse("2024-02-16"), LocalDate.parse("2024-02-17"));
        assertTrue(html.contains("No evaluation of this version for this window: run <code>kiln evaluate"), html);
        assertTrue(html.contains("No drift run of this version with this current window"));
        KilnException e = assertThrows(KilnException.class, () -> new ModelReport(LAKEHOUSE, SETS, m -> { }).write(CHAMPION, TO, FROM, "x"));
        assertEquals("the report's window is empty: --to 2024-02-20 is before --from 2024-02-29", e.getMessage());
    }

    /** The exact value of the number the page shows for a metric. */
    private static double shown(String html, String metric) {
        Matcher m = Pattern.compile("data-metric=\"" + metric + "\" data-value=\"([^\"]+)\">([^<]+)<").matcher(html);
        assertTrue(m.find(), "no " + metric + " shown");
        double v = Double.parseDouble(m.group(1));
        assertEquals(String.format(java.util.Locale.ROOT, "%.4f", v), m.group(2));
        return v;
    }
}
