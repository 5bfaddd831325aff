package dev.kiln.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.features.materialize.MaterializedVersion;
import dev.kiln.features.trainingset.TrainingSet;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.TestLakehouse;
import dev.kiln.lakehouse.ingest.IngestResult;
import dev.kiln.scoring.ScoringResult;
import dev.kiln.training.registry.ModelVersion;
import dev.kiln.training.retention.Vacuumed;
import dev.kiln.training.spec.Algorithm;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The library API end to end, through {@link Kiln} only (no CLI class): ingest -> features -> training set ->
 * train -> score, on small data whose answers are known. Store A sells once a day at 10:00 for the day of the month
 * (1.0 .. 20.0); store B sells twice on even days (10:00 and 14:00) for 1.0. Two more lines break the contract.
 */
class KilnApiTest {
    private static final String PIPELINE = """
            datasets.api_sales {
              source { format = csv, path = "%s" }
              schema = [ { name = store, type = string, nullable = false }, { name = ts, type = timestamp_ntz, nullable = false },
                         { name = amount, type = double, nullable = false } ]
              event-time = ts
              derived = [ { name = sale_date, expr = "to_date(ts)" } ]
              partition-by = [sale_date]
              expectations = [ { name = amount_not_negative, expr = "amount >= 0" } ]
            }
            feature-sets.api_store {
              version = 1, entity = [store], source = "raw.api_sales", event-time = ts, grain = day, ttl = 2d
              features = [ { name = sales_1d, agg = count, window = 1d }, { name = amount_2d, agg = "sum(amount)", window = 2d } ]
            }
            training-sets.api_sales {
              events = "raw.api_sales", event-time = ts, columns = [ts, store, amount], label = "amount > 5"
              features = ["api_store:sales_1d", "api_store:amount_2d"]
            }
            models.api_big_sale {
              task = binary-classification, training-set = api_sales, numeric = [amount], algorithm = logistic-regression
              grids { logistic-regression { regParam = [0.0], maxIter = [50] } }
              split { train-until = "2024-01-15", validate-until = "2024-01-21" }
              metric = areaUnderROC, seed = 3
            }
            """;

    private static Kiln kiln;
    private static IngestResult ingested;
    private static long rawRows;
    private static long quarantinedRows;

    @BeforeAll
    static void ingest() {
        StringBuilder csv = new StringBuilder("store,ts,amount\n");
        for (int d = 1; d <= 20; d++) {
            csv.append(String.format("A,2024-01-%02d 10:00:00,%d.0%n", d, d));
            if (d % 2 == 0) {
                csv.append(String.format("B,2024-01-%02d 10:00:00,1.0%nB,2024-01-%02d 14:00:00,1.0%n", d, d));
            }
        }
        csv.append("A,2024-01-03 11:00:00,abc\n"); // not a double
        csv.append("B,2024-01-04 11:00:00,-2.0\n"); // fails the expectation
        Path dir = TestLakehouse.tempDir("api-sales");
        TestLakehouse.write(dir, "sales.csv", csv.toString());
        SparkSession spark = TestLakehouse.get().spark();
        kiln = Kiln.open(spark, TestLakehouse.config(String.format(PIPELINE, dir)));
        ingested = kiln.ingest("api_sales");
        rawRows = kiln.table("raw.api_sales").count(); // before any test rewrites the table
        quarantinedRows = kiln.table("raw.api_sales_quarantine").count();
    }

    @Test
    void ingestAccountsForEveryRowAndARerunAddsNothing() {
        assertEquals(42, ingested.rowsRead());
        assertEquals(40, ingested.rowsWritten());
        assertEquals(2, ingested.rowsQuarantined());
        IngestResult again = kiln.ingest("api_sales");
        assertTrue(again.alreadyCommitted());
        assertEquals(40, rawRows);
        assertEquals(2, quarantinedRows);
    }

    @Test
    void featuresTrainingSetModelAndScoresFromTheLibrary() {
        List<MaterializedVersion> features = kiln.materialize(List.of("api_store"));
        assertEquals(1, features.size());
        assertFalse(features.get(0).wroteNothing());
        assertTrue(kiln.materialize(List.of()).stream().allMatch(MaterializedVersion::wroteNothing), "a re-run writes nothing");

        // Point in time: the 10:00 sale of A on Jan 5 sees Jan 4 (1 sale) and Jan 3 + Jan 4 (3 + 4).
        Dataset<Row> probe = kiln.spark().sql("SELECT 'A' AS store, timestamp_ntz'2024-01-05 10:00:00' AS ts"
                + " UNION ALL SELECT 'A', timestamp_ntz'2024-01-01 10:00:00'"
                + " UNION ALL SELECT 'B', timestamp_ntz'2024-01-05 00:00:00'");
        Map<String, Row> rows = byKey(kiln.historicalFeatures(probe, "ts",
                List.of("api_store:sales_1d", "api_store@1:amount_2d")), "store", "ts");
        Row a5 = rows.get("A|2024-01-05T10:00");
        assertEquals(1L, a5.<Long>getAs("api_store__sales_1d"));
        assertEquals(7.0, a5.<Double>getAs("api_store__amount_2d"));
        assertEquals(false, a5.<Boolean>getAs("api_store__missing"));
        assertEquals(true, rows.get("A|2024-01-01T10:00").<Boolean>getAs("api_store__missing"), "no history before the first day");
        Row b5 = rows.get("B|2024-01-05T00:00"); // midnight sees the day that just ended (Jan 4: 2 sales, 2.0 + 0)
        assertEquals(2L, b5.<Long>getAs("api_store__sales_1d"));
        assertEquals(2.0, b5.<Double>getAs("api_store__amount_2d"));

        TrainingSet set = kiln.buildTrainingSet("api_sales");
        assertEquals(40, set.rowCount());
        assertEquals(set.id(), kiln.buildTrainingSet("api_sales").id(), "unchanged inputs: the same set");
        assertTrue(kiln.buildTrainingSet("api_sales").reused());
        assertEquals(set.id(), kiln.trainingSet("api_sales").id());
        Row snapshotA5 = byKey(kiln.rows(set), "store", "ts").get("A|2024-01-05T10:00");
        assertEquals(7.0, snapshotA5.<Double>getAs("api_store__amount_2d"));

        ModelVersion v = kiln.train("api_big_sale");
        assertEquals(1.0, v.metricValue(), 1e-12, "amount > 5 is separable by amount on the validation window");
        assertEquals(v.version(), kiln.trainOrReuse("api_big_sale", Algorithm.LOGISTIC_REGRESSION).version(), "same set and spec: reused");
        String uri = "models:/api_big_sale/" + v.version();
        assertEquals(v.trainingSetId(), kiln.model(uri).trainingSetId());

        ScoringResult written = kiln.scoreDays(List.of(uri), LocalDate.of(2024, 1, 15), LocalDate.of(2024, 1, 20));
        assertEquals(12L, written.rowsPerModel().get(uri)); // A: 6 days, B: Jan 16, 18, 20 twice
        Dataset<Row> events = kiln.table("raw.api_sales").where("ts >= timestamp_ntz'2024-01-15 00:00:00'");
        Map<String, Row> scored = byKey(kiln.score(events, uri), "store", "ts");
        Map<String, Row> stored = byKey(kiln.predictions().where("model_name = 'api_big_sale' AND model_version = " + v.version()), "store", "ts");
        assertEquals(stored.keySet(), scored.keySet());
        stored.forEach((k, p) -> {
            assertEquals(p.<Double>getAs("score"), scored.get(k).<Double>getAs("score"), "score of " + k);
            assertEquals(p.<Boolean>getAs("predicted_label"), scored.get(k).<Boolean>getAs("predicted_label"));
        });
        assertTrue(scored.get("A|2024-01-20T10:00").<Double>getAs("score") > scored.get("B|2024-01-20T10:00").<Double>getAs("score"));

        // Vacuum keeps what the registry pins: raw.api_sales is rewritten (a DELETE), then vacuumed with zero retention.
        long pinned = set.inputs().get("raw.api_sales");
        kiln.spark().sql("DELETE FROM raw.api_sales WHERE store = 'B' AND ts < timestamp_ntz'2024-01-09 00:00:00'");
        kiln.spark().conf().set("spark.databricks.delta.retentionDurationCheck.enabled", "false");
        try {
            Vacuumed kept = kiln.vacuum("raw.api_sales", 0.0, false);
            assertTrue(kept.retainedHours() > 0, kept.summary());
            assertTrue(kept.pins().get(0).startsWith("version " + pinned + " (training set " + set.id()), kept.summary());
            assertTrue(kiln.rebuildTrainingSet(set.id()).identical(), "the pinned version still reads after vacuum");
            assertTrue(kiln.reproduce("api_big_sale", v.version()).matches());
            // --force vacuums anyway: the pinned version's files are gone and the rebuild fails.
            assertTrue(kiln.vacuum("raw.api_sales", 0.0, true).forced());
            assertThrows(RuntimeException.class, () -> kiln.rebuildTrainingSet(set.id()).identical());
        } finally {
            kiln.spark().conf().unset("spark.databricks.delta.retentionDurationCheck.enabled");
        }

        Dataset<Row> runs = kiln.runs().where("job LIKE '%api_%'");
        assertTrue(runs.where("job = 'ingest api_sales' AND status = 'succeeded'").count() >= 1);
        assertEquals(1, runs.where("job = 'score " + uri + " 2024-01-15..2024-01-20'").count());
    }

    @Test
    void aSessionWithoutKilnsCatalogIsRefusedNamingTheFix() {
        KilnException e = assertThrows(KilnException.class, () -> Kiln.open(TestLakehouse.get().spark(),
                TestLakehouse.config("kiln.lakehouse.root = \"file:/tmp/another-lakehouse\"")));
        assertTrue(e.getMessage().contains("kiln catalog-conf"), e.getMessage());
    }

    @Test
    void unknownNamesAreRefusedWithTheKnownOnes() {
        KilnException e = assertThrows(KilnException.class, () -> kiln.trainingSet("api_nope"));
        assertTrue(e.getMessage().contains("api_sales"), e.getMessage());
    }

    private static Map<String, Row> byKey(Dataset<Row> rows, String key, String time) {
        Map<String, Row> out = new TreeMap<>();
        for (Row r : rows.collectAsList()) {
            out.put(r.getAs(key) + "|" + r.getAs(time), r);
        }
        return out;
    }
}
