package dev.kiln.features;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.kiln.features.definition.FeatureSets;
import dev.kiln.features.materialize.Materializer;
import dev.kiln.features.trainingset.TrainingSet;
import dev.kiln.features.trainingset.TrainingSetBuilder;
import dev.kiln.features.trainingset.TrainingSetRebuild;
import dev.kiln.features.trainingset.TrainingSetRegistry;
import dev.kiln.features.trainingset.TrainingSetSpec;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.TestLakehouse;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

/** Training sets: rows known by hand, the registry row, reuse, and exact rebuilds after the inputs moved on. */
class TrainingSetTest {
    private static final Lakehouse LAKEHOUSE = TestLakehouse.get();
    private static final Config CONFIG = ConfigFactory.parseString("""
            feature-sets.ts_store {
              version = 1, entity = [store], source = "raw.ts_sales", event-time = ts, grain = day, ttl = 2d
              features = [
                { name = n_1d, agg = count, window = 1d }
                { name = late_rate_1d, agg = "rate(late)", window = 1d }
              ]
            }
            training-sets.late_sales {
              events = "raw.ts_sales", event-time = ts, columns = [store, ts, amount], label = late
              features = ["ts_store:n_1d", "ts_store:late_rate_1d"]
            }
            training-sets.big_sales {
              events-query = "SELECT s.store, s.ts, s.amount FROM raw.ts_sales s WHERE s.amount > 5"
              event-time = ts, label = "amount > 50", label-column = big, features = ["ts_store@1:n_1d"]
            }
            training-sets.tricky_query {
              # A comment and a string literal that name the table, a CTE, and the table as quoted identifiers.
              events-query = \"""
                -- reads raw.tt_events (this comment names it)
                WITH recent AS (SELECT * FROM `raw`.`tt_events` WHERE store <> 'raw.tt_events')
                SELECT r.store, r.ts, r.amount, 'from raw.tt_events' AS origin FROM recent r
                WHERE r.store IN (SELECT store FROM raw.tt_events WHERE amount > 0)
              \"""
              event-time = ts, label = "amount > 5", features = ["ts_store@1:n_1d"]
            }
            training-sets.bump {
              events = "raw.bump_events", event-time = ts, label = "amount > 5", features = ["ts_store:n_1d"]
            }
            training-sets.bad_label {
              events = "raw.ts_sales", event-time = ts, label = "no_such_column > 1", features = ["ts_store:n_1d"]
            }
            training-sets.bad_column {
              events = "raw.ts_sales", event-time = ts, columns = [store, ts, price], label = late, features = ["ts_store:n_1d"]
            }
            training-sets.bad_ref {
              events = "raw.ts_sales", event-time = ts, label = late, features = ["nope:n_1d"]
            }
            """);

    private static synchronized void setUp() {
        TableName src = TableName.parse("raw.ts_sales");
        if (LAKEHOUSE.exists(src)) {
            return;
        }
        LAKEHOUSE.ensureSchema("raw");
        LAKEHOUSE.spark().sql("CREATE TABLE raw.ts_sales (store STRING, ts TIMESTAMP_NTZ, amount DOUBLE, late BOOLEAN)"
                + " USING delta LOCATION '" + LAKEHOUSE.locationOf(src) + "'");
        LAKEHOUSE.spark().sql("INSERT INTO raw.ts_sales VALUES"
                + " ('A', TIMESTAMP_NTZ'2024-01-01 10:00:00', 10.0, false),"
                + " ('A', TIMESTAMP_NTZ'2024-01-02 09:00:00', 60.0, true),"
                + " ('B', TIMESTAMP_NTZ'2024-01-02 12:00:00', 3.0, false)");
        new Materializer(LAKEHOUSE, m -> { }).materialize(FeatureSets.parse(CONFIG).get("ts_store"));
    }

    private static TrainingSetBuilder builder() {
        return new TrainingSetBuilder(LAKEHOUSE, FeatureSets.parse(CONFIG), m -> { });
    }

    private static List<String> rows(TableName table) {
        return Arrays.stream((Row[]) LAKEHOUSE.read(table).orderBy("ts", "store").collect()).map(Row::toString).toList();
    }

    @Test
    void buildsRegistersReusesAndRebuildsExactlyAfterTheSourceMovedOn() {
        setUp();
        TrainingSet first = builder().build(TrainingSetSpec.parse(CONFIG, "late_sales"));
        assertFalse(first.reused());
        assertEquals(3, first.rowCount());
        assertEquals(List.of("store", "ts", "amount", "label", "ts_store__n_1d", "ts_store__late_rate_1d",
                "ts_store__missing"), List.of(LAKEHOUSE.read(first.table()).columns()));
        // A's Jan 2 sale is late, but Jan 2 has not ended when it happens: its own label must not leak in.
        assertEquals(List.of(
                "[A,2024-01-01T10:00,10.0,false,null,null,true]",   // no history yet
                "[A,2024-01-02T09:00,60.0,true,1,0.0,false]",        // Jan 1: one sale, not late
                "[B,2024-01-02T12:00,3.0,false,null,null,true]"),    // B starts on Jan 2
                rows(first.table()));
        assertEquals(List.of("ts_store@1:n_1d", "ts_store@1:late_rate_1d"), first.featureRefs());
        assertEquals(List.of("ts_store__n_1d", "ts_store__late_rate_1d"), first.featureColumns());
        long rawVersion = LAKEHOUSE.version(TableName.parse("raw.ts_sales"));
        assertEquals(Map.of("raw.ts_sales", rawVersion, "features.ts_store__v1",
                LAKEHOUSE.version(TableName.parse("features.ts_store__v1"))), first.inputs());
        Row registered = new TrainingSetRegistry(LAKEHOUSE).find(first.id()).orElseThrow();
        assertEquals(3L, registered.<Long>getAs("row_count"));
        assertTrue(registered.<String>getAs("spec").contains("ts_store:late_rate_1d"));

        TrainingSet again = builder().build(TrainingSetSpec.parse(CONFIG, "late_sales"));
        assertTrue(again.reused());
        assertEquals(first.id(), again.id());
        assertEquals(1, LAKEHOUSE.read(TrainingSetRegistry.TABLE).filter("name = 'late_sales'").count());

        // A late-arriving sale: the next build is a new set; the first one still rebuilds exactly as registered.
        LAKEHOUSE.spark().sql("INSERT INTO raw.ts_sales VALUES ('A', TIMESTAMP_NTZ'2024-01-03 08:00:00', 7.0, false)");
        TrainingSet second = builder().build(TrainingSetSpec.parse(CONFIG, "late_sales"));
        assertNotEquals(first.id(), second.id());
        assertEquals(4, second.rowCount());
        TrainingSetRebuild rebuild = builder().rebuild(first.id());
        assertTrue(rebuild.identical(), rebuild.summary());
        assertEquals(3, rebuild.rebuiltRows());
        assertTrue(builder().rebuild(second.id()).identical());

        // A query over the table, pinned the same way (its alias survives the VERSION AS OF).
        TrainingSet query = builder().build(TrainingSetSpec.parse(CONFIG, "big_sales"));
        assertEquals(List.of(
                "[A,2024-01-01T10:00,10.0,false,null,true]",
                "[A,2024-01-02T09:00,60.0,true,1,false]",
                "[A,2024-01-03T08:00,7.0,false,1,false]"), rows(query.table()));
        assertTrue(builder().rebuild(query.id()).identical());
    }

    @Test
    void queryDefinedSetsArePinnedThroughTheParserNotTheText() {
        setUp();
        TableName events = TableName.parse("raw.tt_events");
        LAKEHOUSE.spark().sql("CREATE TABLE raw.tt_events (store STRING, ts TIMESTAMP_NTZ, amount DOUBLE)"
                + " USING delta LOCATION '" + LAKEHOUSE.locationOf(events) + "'");
        LAKEHOUSE.spark().sql("INSERT INTO raw.tt_events VALUES ('A', TIMESTAMP_NTZ'2024-01-02 09:00:00', 8.0),"
                + " ('B', TIMESTAMP_NTZ'2024-01-02 12:00:00', 2.0)");
        TrainingSet set = builder().build(TrainingSetSpec.parse(CONFIG, "tricky_query"));
        assertEquals(2, set.rowCount());
        assertEquals(List.of("from raw.tt_events"), Arrays.stream((Row[]) LAKEHOUSE.read(set.table()).select("origin").distinct()
                .collect()).map(r -> r.getString(0)).toList(), "string literals are not rewritten");
        // The events move on; the registered set still rebuilds exactly from the version it pinned.
        LAKEHOUSE.spark().sql("INSERT INTO raw.tt_events VALUES ('A', TIMESTAMP_NTZ'2024-01-02 10:00:00', 9.0)");
        TrainingSetRebuild rebuild = builder().rebuild(set.id());
        assertTrue(rebuild.identical(), rebuild.summary());
        assertEquals(3, builder().build(TrainingSetSpec.parse(CONFIG, "tricky_query")).rowCount());
    }

    @Test
    void aPinnedVersionKeepsItsOwnDefinitionAfterTheSetIsBumped() {
        setUp();
        // An event 36 hours after the end of the last materialized period: fresh under v1's TTL (2d), not under 1d.
        // period_end is a TIMESTAMP now (was TIMESTAMP_NTZ): read as its UTC wall-clock time.
        java.time.LocalDateTime lastEnd = dev.kiln.lakehouse.EventTime.utcWallClock(LAKEHOUSE.read(TableName.parse("features.ts_store__v1"))
                .agg(org.apache.spark.sql.functions.max("period_end")).first().get(0));
        TableName events = TableName.parse("raw.bump_events");
        LAKEHOUSE.spark().sql("CREATE TABLE raw.bump_events (store STRING, ts TIMESTAMP_NTZ, amount DOUBLE)"
                + " USING delta LOCATION '" + LAKEHOUSE.locationOf(events) + "'");
        LAKEHOUSE.spark().sql("INSERT INTO raw.bump_events VALUES ('A', TIMESTAMP_NTZ'2024-01-02 09:00:00', 8.0),"
                + " ('A', TIMESTAMP_NTZ'" + lastEnd.plusHours(36).toString().replace('T', ' ') + "', 2.0)");
        TrainingSet v1 = builder().build(TrainingSetSpec.parse(CONFIG, "bump"));
        assertEquals(List.of("ts_store@1:n_1d"), v1.featureRefs());
        assertEquals(0, LAKEHOUSE.read(v1.table()).filter("ts_store__missing").count(), "both events see a fresh v1 row");

        // v2: a shorter TTL and one more feature, materialized beside v1.
        Config bumped = ConfigFactory.parseString("""
                feature-sets.ts_store { version = 2, ttl = 1d, features = ${feature-sets.ts_store.features} [
                  { name = amount_1d, agg = "sum(amount)", window = 1d } ] }
                """).withFallback(CONFIG).resolve();
        FeatureSets sets = FeatureSets.parse(bumped);
        new Materializer(LAKEHOUSE, m -> { }).materialize(sets.get("ts_store"));
        TrainingSetBuilder bumpedBuilder = new TrainingSetBuilder(LAKEHOUSE, sets, m -> { });
        TrainingSetRebuild rebuild = bumpedBuilder.rebuild(v1.id());
        assertTrue(rebuild.identical(), "v1 joined with v1's TTL, not v2's: " + rebuild.summary());
        // v1 never had amount_1d: asking v1 for it is refused, naming what v1 has.
        KilnException e = assertThrows(KilnException.class, () -> new dev.kiln.features.pointintime.PointInTimeJoin(LAKEHOUSE, sets)
                .resolve(List.of(dev.kiln.features.pointintime.FeatureRef.parse("ts_store@1:amount_1d"))));
        assertTrue(e.getMessage().startsWith("unknown feature 'amount_1d' in feature set 'ts_store' v1"), e.getMessage());
        // A new build follows the configured version.
        assertEquals(List.of("ts_store@2:n_1d"), bumpedBuilder.build(TrainingSetSpec.parse(bumped, "bump")).featureRefs());
    }

    @Test
    void badDeclarationsAreClearErrors() {
        setUp();
        assertEquals("unknown training set 'nope' (known: bad_column, bad_label, bad_ref, big_sales, bump, late_sales, tricky_query)",
                assertThrows(KilnException.class, () -> TrainingSetSpec.parse(CONFIG, "nope")).getMessage());
        assertTrue(assertThrows(KilnException.class, () -> builder().build(TrainingSetSpec.parse(CONFIG, "bad_label")))
                .getMessage().startsWith("training-sets.bad_label.label: 'no_such_column > 1' does not fit the events"));
        assertTrue(assertThrows(KilnException.class, () -> builder().build(TrainingSetSpec.parse(CONFIG, "bad_column")))
                .getMessage().startsWith("training-sets.bad_column: the events have no column 'price'"));
        assertEquals("unknown feature set 'nope' (known: ts_store)", assertThrows(KilnException.class,
                () -> builder().build(TrainingSetSpec.parse(CONFIG, "bad_ref"))).getMessage());
        assertEquals("training-sets.x.events: missing (a table like raw.flights, or events-query)",
                assertThrows(KilnException.class, () -> TrainingSetSpec.parse(ConfigFactory.parseString(
                        "training-sets.x { event-time = ts, label = late, features = [\"a:b\"] }"), "x")).getMessage());
        assertTrue(assertThrows(KilnException.class, () -> builder().rebuild("000000000000")).getMessage()
                .startsWith("no training set with id '000000000000'"));
    }
}
