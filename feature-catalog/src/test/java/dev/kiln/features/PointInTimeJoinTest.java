package dev.kiln.features;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.kiln.features.definition.FeatureSets;
import dev.kiln.features.materialize.Materializer;
import dev.kiln.features.pointintime.FeatureRef;
import dev.kiln.features.pointintime.PointInTimeJoin;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.TestLakehouse;
import dev.kiln.lakehouse.catalog.Lakehouse;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Point-in-time lookups checked against answers worked out by hand. */
class PointInTimeJoinTest {
    private static final Lakehouse LAKEHOUSE = TestLakehouse.get();
    private static final FeatureSets SETS = FeatureSets.parse(ConfigFactory.parseString("""
            feature-sets.pit_store {
              version = 1, entity = [store], source = "raw.pit_src", event-time = ts, grain = day, ttl = 2d
              features = [
                { name = n_1d, agg = count, window = 1d }
                { name = label_rate_1d, agg = "rate(label)", window = 1d }
              ]
            }
            feature-sets.pit_hourly {
              version = 1, entity = [store], source = "raw.pit_src", event-time = ts, grain = hour, ttl = 2h
              features = [ { name = n_1h, agg = count, window = 1h } ]
            }
            """));

    @BeforeAll
    static void materialize() {
        LAKEHOUSE.ensureSchema("raw");
        LAKEHOUSE.spark().sql("CREATE TABLE raw.pit_src (store STRING, ts TIMESTAMP_NTZ, label BOOLEAN) USING delta"
                + " LOCATION '" + LAKEHOUSE.locationOf(dev.kiln.lakehouse.catalog.TableName.parse("raw.pit_src")) + "'");
        LAKEHOUSE.spark().sql("INSERT INTO raw.pit_src VALUES"
                + " ('A', TIMESTAMP_NTZ'2024-01-01 10:00:00', false),"
                + " ('A', TIMESTAMP_NTZ'2024-01-02 09:00:00', true),"
                + " ('A', TIMESTAMP_NTZ'2024-01-02 15:00:00', true),"
                + " ('A', TIMESTAMP_NTZ'2024-01-07 12:00:00', false)");
        new Materializer(LAKEHOUSE, m -> { }).materialize(SETS.get("pit_store"));
        new Materializer(LAKEHOUSE, m -> { }).materialize(SETS.get("pit_hourly"));
    }

    private static Dataset<Row> events() {
        return LAKEHOUSE.spark().sql("SELECT * FROM VALUES"
                + " (1, 'A', TIMESTAMP_NTZ'2024-01-02 00:00:00'),"  // exactly at the end of Jan 1
                + " (2, 'A', TIMESTAMP_NTZ'2024-01-02 12:00:00'),"  // same day as labels that are true
                + " (3, 'A', TIMESTAMP_NTZ'2024-01-02 12:00:00'),"  // a duplicate timestamp
                + " (4, 'A', TIMESTAMP_NTZ'2024-01-03 08:00:00'),"
                + " (5, 'A', TIMESTAMP_NTZ'2024-01-04 08:00:00'),"  // Jan 3: no flights that day, a row of zeros
                + " (6, 'A', TIMESTAMP_NTZ'2024-01-11 00:00:00'),"  // last row (Jan 7) ended 3 days ago: past the TTL
                + " (7, 'C', TIMESTAMP_NTZ'2024-01-03 00:00:00'),"  // an entity with no history
                + " (8, 'A', TIMESTAMP_NTZ'2024-01-08 00:00:00'),"
                + " (9, NULL, TIMESTAMP_NTZ'2024-01-03 00:00:00'),"
                + " (10, 'A', TIMESTAMP_NTZ'2024-01-09 12:00:00')"  // no row for Jan 8: Jan 7 is within the TTL
                + " AS e(event_id, store, event_ts)");
    }

    @Test
    void eachEventSeesOnlyPeriodsThatEndedBeforeItAndWithinTheTtl() {
        PointInTimeJoin pit = new PointInTimeJoin(LAKEHOUSE, SETS);
        Row[] rows = (Row[]) pit.join(events(), "event_ts",
                        List.of(FeatureRef.parse("pit_store:n_1d"), FeatureRef.parse("pit_store:label_rate_1d")))
                .orderBy("event_id").collect();
        assertEquals(10, rows.length);
        // event_id, n_1d, label_rate_1d, missing
        Object[][] want = {
                {1, 1L, 0.0, false},
                {2, 1L, 0.0, false}, // the leakage trap: Jan 2's labels must not show on Jan 2
                {3, 1L, 0.0, false},
                {4, 2L, 1.0, false},
                {5, 0L, null, false},
                {6, null, null, true},
                {7, null, null, true},
                {8, 1L, 0.0, false},
                {9, null, null, true},
                {10, 1L, 0.0, false}};
        for (int i = 0; i < want.length; i++) {
            Row r = rows[i];
            assertEquals(want[i][0], r.getAs("event_id"));
            assertEquals(want[i][1], r.getAs("pit_store__n_1d"), "n_1d of event " + want[i][0]);
            assertEquals(want[i][2], r.getAs("pit_store__label_rate_1d"), "label_rate_1d of event " + want[i][0]);
            assertEquals(want[i][3], r.getAs("pit_store__missing"), "missing of event " + want[i][0]);
        }
        assertEquals(List.of("event_id", "store", "event_ts", "pit_store__n_1d", "pit_store__label_rate_1d",
                "pit_store__missing"), List.of(pit.join(events(), "event_ts", List.of(FeatureRef.parse("pit_store:n_1d"),
                FeatureRef.parse("pit_store:label_rate_1d"))).columns()));
    }

    @Test
    void hourlySetsLookUpTheHourThatEndedLast() {
        Dataset<Row> events = LAKEHOUSE.spark().sql("SELECT * FROM VALUES"
                + " (1, 'A', TIMESTAMP_NTZ'2024-01-02 09:30:00'),"  // hour 08 ended last: no sale in it
                + " (2, 'A', TIMESTAMP_NTZ'2024-01-02 10:00:00'),"  // hour 09 just ended: the 09:00 sale
                + " (3, 'A', TIMESTAMP_NTZ'2024-01-07 14:00:00'),"  // past the last hour (12): it ended 1 h ago, TTL 2 h
                + " (4, 'A', TIMESTAMP_NTZ'2024-01-07 16:00:00')"   // ... and 3 h ago: missing
                + " AS e(event_id, store, event_ts)");
        Row[] rows = (Row[]) new PointInTimeJoin(LAKEHOUSE, SETS).join(events, "event_ts",
                List.of(FeatureRef.parse("pit_hourly:n_1h"))).orderBy("event_id").collect();
        Object[][] want = {{1, 0L, false}, {2, 1L, false}, {3, 1L, false}, {4, null, true}};
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i][1], rows[i].getAs("pit_hourly__n_1h"), "n_1h of event " + want[i][0]);
            assertEquals(want[i][2], rows[i].getAs("pit_hourly__missing"), "missing of event " + want[i][0]);
        }
    }

    @Test
    void badReferencesAndEventsAreClearErrors() {
        PointInTimeJoin pit = new PointInTimeJoin(LAKEHOUSE, SETS);
        assertEquals("unknown feature 'n_2d' in feature set 'pit_store' (known: n_1d, label_rate_1d)",
                assertThrows(KilnException.class, () -> pit.join(events(), "event_ts",
                        List.of(FeatureRef.parse("pit_store:n_2d")))).getMessage());
        assertTrue(assertThrows(KilnException.class, () -> pit.join(events(), "event_ts",
                List.of(FeatureRef.parse("pit_store@9:n_1d")))).getMessage()
                .startsWith("feature set 'pit_store' has no materialized version 9"));
        assertEquals("unknown feature set 'nope' (known: pit_hourly, pit_store)", assertThrows(KilnException.class,
                () -> pit.join(events(), "event_ts", List.of(FeatureRef.parse("nope:x")))).getMessage());
        assertTrue(assertThrows(KilnException.class, () -> pit.join(events().drop("store"), "event_ts",
                List.of(FeatureRef.parse("pit_store:n_1d")))).getMessage()
                .startsWith("the events lack entity column 'store' of feature set 'pit_store'"));
        assertEquals("event column 'event_id' is integer, expected a timestamp or date", assertThrows(KilnException.class,
                () -> pit.join(events(), "event_id", List.of(FeatureRef.parse("pit_store:n_1d")))).getMessage());
        assertEquals("feature pit_store:n_1d is asked for twice", assertThrows(KilnException.class,
                () -> pit.join(events(), "event_ts", List.of(FeatureRef.parse("pit_store:n_1d"),
                        FeatureRef.parse("pit_store:n_1d")))).getMessage());
    }

    @Test
    void aSmallRequestReadsOnlyTheDaysItLooksUp() {
        // Three rows on Jan 2 look up Jan 1; the table holds a partition per day from Jan 1 on.
        Dataset<Row> three = LAKEHOUSE.spark().sql("SELECT * FROM VALUES (1, 'A', TIMESTAMP_NTZ'2024-01-02 08:00:00'),"
                + " (2, 'A', TIMESTAMP_NTZ'2024-01-02 12:00:00'), (3, 'C', TIMESTAMP_NTZ'2024-01-02 23:00:00')"
                + " AS e(event_id, store, event_ts)");
        List<FeatureRef> refs = List.of(FeatureRef.parse("pit_store:n_1d"));
        Dataset<Row> small = new PointInTimeJoin(LAKEHOUSE, SETS).join(three, "event_ts", refs);
        Dataset<Row> full = new PointInTimeJoin(LAKEHOUSE, SETS, -1).join(three, "event_ts", refs);
        assertEquals(0, small.exceptAll(full).count());
        assertEquals(0, full.exceptAll(small).count());
        assertEquals(3, small.collectAsList().size());
        assertEquals(3, full.collectAsList().size());

        dev.kiln.lakehouse.catalog.TableName table = dev.kiln.lakehouse.catalog.TableName.parse("features.pit_store__v1");
        Dataset<Row> all = LAKEHOUSE.read(table);
        int allFiles = all.inputFiles().length;
        int jan1Files = all.where("period_date = DATE'2024-01-01'").inputFiles().length;
        assertTrue(jan1Files >= 1 && allFiles > jan1Files, allFiles + " files, " + jan1Files + " on Jan 1");
        List<org.apache.spark.sql.execution.FileSourceScanExec> scans = scans(small.queryExecution().executedPlan());
        assertEquals(1, scans.size(), small.queryExecution().executedPlan().toString());
        assertTrue(scans.get(0).partitionFilters().mkString(",").contains("period_date"), scans.get(0).toString());
        assertEquals(jan1Files, ((Number) scans.get(0).metrics().apply("numFiles").value()).intValue(),
                "the small request reads only Jan 1's files\n" + scans.get(0));
        List<org.apache.spark.sql.execution.FileSourceScanExec> fullScans = scans(full.queryExecution().executedPlan());
        assertEquals(allFiles, ((Number) fullScans.get(0).metrics().apply("numFiles").value()).intValue(), "without it: every file");
    }

    /** The file scans of an executed plan, through adaptive execution's stages. */
    private static List<org.apache.spark.sql.execution.FileSourceScanExec> scans(org.apache.spark.sql.execution.SparkPlan plan) {
        List<org.apache.spark.sql.execution.FileSourceScanExec> out = new java.util.ArrayList<>();
        if (plan instanceof org.apache.spark.sql.execution.FileSourceScanExec scan) {
            out.add(scan);
        }
        if (plan instanceof org.apache.spark.sql.execution.adaptive.AdaptiveSparkPlanExec a) {
            out.addAll(scans(a.executedPlan()));
        }
        if (plan instanceof org.apache.spark.sql.execution.adaptive.QueryStageExec q) {
            out.addAll(scans(q.plan()));
        }
        for (org.apache.spark.sql.execution.SparkPlan child : scala.jdk.javaapi.CollectionConverters.asJava(plan.children())) {
            out.addAll(scans(child));
        }
        return out;
    }
}
