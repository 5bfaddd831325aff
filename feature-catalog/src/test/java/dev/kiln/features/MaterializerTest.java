package dev.kiln.features;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.kiln.features.definition.FeatureSetSpec;
import dev.kiln.features.definition.FeatureSets;
import dev.kiln.features.materialize.MaterializedVersion;
import dev.kiln.features.materialize.Materializer;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.TestLakehouse;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import dev.kiln.lakehouse.config.ConfigException;
import java.time.LocalDate;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/** Feature values checked against answers computed by hand from a few events. */
class MaterializerTest {
    private final Lakehouse lakehouse = TestLakehouse.get();
    private final Materializer materializer = new Materializer(lakehouse, m -> { });

    private static final String FEATURES = """
            features = [
              { name = n_1d, agg = count, window = 1d }
              { name = sum_2d, agg = "sum(amount)", window = 2d }
              { name = avg_2d, agg = "avg(amount)", window = 2d }
              { name = max_1d, agg = "max(amount)", window = 1d }
              { name = big_rate_2d, agg = "rate(amount > 15)", window = 2d }
              { name = sd_2d, agg = "stddev(amount)", window = 2d }
              { name = kinds_2d, agg = "approx_distinct(kind)", window = 2d }
            ]
            """;

    private static FeatureSetSpec set(String name, String source, int version, String features) {
        String hocon = "feature-sets." + name + " { version = " + version + ", entity = [store], source = \"" + source
                + "\", event-time = ts, grain = day, ttl = 3d, owner = \"tests\", tags = [shop]\n" + features + "}";
        return FeatureSets.parse(ConfigFactory.parseString(hocon)).get(name);
    }

    private void events(String table, String... rows) {
        StructType schema = new StructType().add("store", DataTypes.StringType).add("ts", DataTypes.TimestampNTZType)
                .add("amount", DataTypes.DoubleType).add("kind", DataTypes.StringType);
        TableName t = TableName.parse(table);
        lakehouse.createIfMissing(t, schema, List.of(), "test events", Map.of());
        StringBuilder values = new StringBuilder();
        for (String r : rows) {
            values.append(values.length() == 0 ? "" : ", ").append("(").append(r).append(")");
        }
        lakehouse.spark().sql("INSERT INTO " + t.quoted() + " VALUES " + values);
    }

    private Map<String, Row> rows(FeatureSetSpec spec) {
        Map<String, Row> out = new HashMap<>();
        for (Row r : (Row[]) lakehouse.read(spec.tableName()).collect()) {
            out.put(r.getAs("store") + " " + r.getAs("period_date"), r);
        }
        return out;
    }

    @Test
    void windowsHoldTheValuesAsOfTheEndOfEachDay() {
        events("raw.fs_shop1",
                "'A', TIMESTAMP_NTZ'2024-01-01 10:00:00', 10.0, 'x'",
                "'A', TIMESTAMP_NTZ'2024-01-01 23:59:59', 20.0, 'y'",
                "'A', TIMESTAMP_NTZ'2024-01-02 00:00:00', 30.0, 'y'", // exactly on the boundary: belongs to Jan 2
                "'A', TIMESTAMP_NTZ'2024-01-04 12:00:00', 40.0, 'x'",
                "'B', TIMESTAMP_NTZ'2024-01-02 08:00:00', 5.0, 'x'",
                "NULL, TIMESTAMP_NTZ'2024-01-02 08:00:00', 7.0, 'x'");
        FeatureSetSpec spec = set("shop_a", "raw.fs_shop1", 1, FEATURES);
        MaterializedVersion v = materializer.materialize(spec);

        assertEquals(6, v.rowsWritten());
        Map<String, Row> r = rows(spec);
        assertEquals(6, r.size());
        Row a1 = r.get("A 2024-01-01");
        assertEquals(2L, (long) a1.getAs("n_1d"));
        assertEquals(30.0, a1.<Double>getAs("sum_2d"), 1e-9);
        assertEquals(15.0, a1.<Double>getAs("avg_2d"), 1e-9);
        assertEquals(20.0, a1.<Double>getAs("max_1d"), 1e-9);
        assertEquals(0.5, a1.<Double>getAs("big_rate_2d"), 1e-9);
        assertEquals(Math.sqrt(50.0), a1.<Double>getAs("sd_2d"), 1e-9);
        assertEquals(2L, (long) a1.getAs("kinds_2d"));
        Row a2 = r.get("A 2024-01-02");
        assertEquals(1L, (long) a2.getAs("n_1d"));
        assertEquals(60.0, a2.<Double>getAs("sum_2d"), 1e-9);
        assertEquals(20.0, a2.<Double>getAs("avg_2d"), 1e-9);
        assertEquals(2.0 / 3.0, a2.<Double>getAs("big_rate_2d"), 1e-9);
        assertEquals(10.0, a2.<Double>getAs("sd_2d"), 1e-9);
        Row a3 = r.get("A 2024-01-03"); // a day without events: windows still see Jan 2
        assertEquals(0L, (long) a3.getAs("n_1d"));
        assertEquals(30.0, a3.<Double>getAs("sum_2d"), 1e-9);
        assertNull(a3.getAs("max_1d"));
        assertNull(a3.getAs("sd_2d"));
        assertEquals(40.0, r.get("A 2024-01-04").<Double>getAs("sum_2d"), 1e-9);
        assertEquals(0.0, r.get("B 2024-01-03").<Double>getAs("big_rate_2d"), 1e-9);
        // period_end is a TIMESTAMP now (was TIMESTAMP_NTZ): the same value, read as its UTC wall-clock time.
        assertEquals("2024-01-03T00:00", dev.kiln.lakehouse.EventTime.utcWallClock(r.get("B 2024-01-02").getAs("period_end")).toString());
    }

    @Test
    void quietSpellsLongerThanEveryWindowStillHaveARowPerDay() {
        events("raw.fs_shop5",
                "'A', TIMESTAMP_NTZ'2024-01-01 10:00:00', 10.0, 'x'",
                "'A', TIMESTAMP_NTZ'2024-01-06 10:00:00', 20.0, 'x'",
                "'B', TIMESTAMP_NTZ'2024-01-03 10:00:00', 5.0, 'x'",
                "'C', TIMESTAMP_NTZ'2024-01-07 10:00:00', 1.0, 'x'");
        FeatureSetSpec spec = set("shop_d", "raw.fs_shop5", 1, FEATURES);
        materializer.materialize(spec);
        Map<String, Row> r = rows(spec);
        // A: Jan 1 .. Jan 7 (the source's last day), although nothing happens on Jan 3-5; B: Jan 3 and Jan 4,
        // the day its 2-day windows empty; C: Jan 7.
        assertEquals(7 + 2 + 1, r.size(), r.keySet().toString());
        assertEquals(10.0, r.get("A 2024-01-02").<Double>getAs("sum_2d"), 1e-9);
        for (String day : List.of("2024-01-03", "2024-01-04", "2024-01-05")) {
            Row quiet = r.get("A " + day);
            assertEquals(0L, (long) quiet.getAs("n_1d"), day);
            assertNull(quiet.getAs("sum_2d"), day);
        }
        assertEquals(20.0, r.get("A 2024-01-07").<Double>getAs("sum_2d"), 1e-9);
        assertEquals(5.0, r.get("B 2024-01-04").<Double>getAs("sum_2d"), 1e-9);
        assertNull(r.get("B 2024-01-05"));
        assertEquals(1L, (long) r.get("C 2024-01-07").getAs("n_1d"));
    }

    /**
     * approx_distinct is counted exactly: against a count of distinct values by brute force over each window, with
     * gaps shorter than, equal to and longer than the windows, repeats within a day, nulls, an incremental run whose
     * history starts mid-way, and a day of 3,000 distinct values (where a 4,096-bucket HLL sketch is off by ~1%).
     */
    @Test
    void distinctCountsAreExactOverEveryWindow() {
        String features = """
                features = [
                  { name = d_1d, agg = "approx_distinct(kind)", window = 1d }
                  { name = d_3d, agg = "approx_distinct(kind)", window = 3d }
                  { name = d_7d, agg = "approx_distinct(kind)", window = 7d }
                  { name = d_7d_upper, agg = "approx_distinct(upper(kind))", window = 7d }
                ]
                """;
        TableName t = TableName.parse("raw.fs_distinct");
        lakehouse.createIfMissing(t, new StructType().add("store", DataTypes.StringType).add("ts", DataTypes.TimestampNTZType)
                .add("amount", DataTypes.DoubleType).add("kind", DataTypes.StringType), List.of(), "test events", Map.of());
        // Days 0..39 of stores A-C: value v of store s occurs on day d when (d * (v + 1) + s) % (v + 4) < 2, so
        // each value recurs with its own gaps; kinds k<n> and K<n> differ only in case; some kinds are null; stores
        // skip days 15-24, 18-25 and 21-26.
        String pattern = "SELECT element_at(array('A', 'B', 'C'), cast(s + 1 AS int)) AS store,"
                + " timestamp_ntz'2024-01-01 00:00:00' + make_dt_interval(cast(d AS int), cast(v % 24 AS int), 0, 0) AS ts,"
                + " cast(v AS double) AS amount, CASE WHEN (d * 13 + v) % 11 = 0 THEN NULL"
                + " WHEN v % 2 = 0 THEN concat('k', v DIV 2) ELSE concat('K', v DIV 2) END AS kind"
                + " FROM (SELECT id % 3 AS s, (id DIV 3) % 40 AS d, id DIV 120 AS v FROM range(3 * 40 * 12))"
                + " WHERE (d * (v + 1) + s) % (v + 4) < 2 AND NOT (d BETWEEN 15 + 3 * s AND 24 + s) AND d < ";
        lakehouse.spark().sql("INSERT INTO " + t.quoted() + " " + pattern + 30);
        // A day of 3,000 distinct values, half of them seen again two days later.
        lakehouse.spark().sql("INSERT INTO " + t.quoted() + " SELECT 'H', timestamp_ntz'2024-01-05 12:00:00' + make_dt_interval("
                + "cast(id DIV 3000 * 2 AS int), 0, 0, 0), 1.0, concat('h', id % 3000) FROM range(4500)");
        FeatureSetSpec spec = set("shop_distinct", "raw.fs_distinct", 1, features);
        materializer.materialize(spec);
        // The second run starts its history mid-way (its longest window back from day 30) and adds days 30..39.
        lakehouse.spark().sql("INSERT INTO " + t.quoted() + " " + pattern + 40 + " AND d >= 30");
        materializer.materialize(spec);

        Map<String, List<Row>> byStore = new HashMap<>();
        for (Row e : lakehouse.spark().sql("SELECT store, to_date(ts) AS day, kind FROM " + t.quoted()
                + " WHERE kind IS NOT NULL").collectAsList()) {
            byStore.computeIfAbsent(e.getString(0), k -> new java.util.ArrayList<>()).add(e);
        }
        Map<String, Row> r = rows(spec);
        int checked = 0;
        boolean upperSmaller = false;
        for (Row row : r.values()) {
            LocalDate day = ((java.sql.Date) row.getAs("period_date")).toLocalDate();
            for (int window : List.of(1, 3, 7)) {
                java.util.Set<String> seen = new java.util.HashSet<>();
                java.util.Set<String> upper = new java.util.HashSet<>();
                for (Row e : byStore.getOrDefault(row.<String>getAs("store"), List.of())) {
                    LocalDate at = ((java.sql.Date) e.get(1)).toLocalDate();
                    if (!at.isAfter(day) && at.isAfter(day.minusDays(window))) {
                        seen.add(e.getString(2));
                        upper.add(e.getString(2).toUpperCase(java.util.Locale.ROOT));
                    }
                }
                String key = row.getAs("store") + " " + day;
                assertEquals(seen.size(), (long) row.getAs("d_" + window + "d"), key + " d_" + window + "d");
                if (window == 7) {
                    assertEquals(upper.size(), (long) row.getAs("d_7d_upper"), key + " d_7d_upper");
                    upperSmaller |= upper.size() < seen.size();
                }
                checked++;
            }
        }
        assertEquals(3000L, (long) r.get("H 2024-01-05").getAs("d_1d"));
        assertEquals(1500L, (long) r.get("H 2024-01-07").getAs("d_1d"));
        assertEquals(3000L, (long) r.get("H 2024-01-07").getAs("d_3d"));
        assertTrue(r.containsKey("A 2024-02-04"), r.keySet().toString());
        assertTrue(checked > 300, "windows checked: " + checked);
        assertTrue(upperSmaller, "k<n> and K<n> are one value in upper case");
    }

    @Test
    void incrementalRunsComputeOnlyNewPeriodsAndBackfillPicksUpLateRows() {
        events("raw.fs_shop2",
                "'A', TIMESTAMP_NTZ'2024-01-01 10:00:00', 10.0, 'x'",
                "'A', TIMESTAMP_NTZ'2024-01-02 10:00:00', 20.0, 'x'");
        FeatureSetSpec spec = set("shop_b", "raw.fs_shop2", 1, FEATURES);
        assertEquals(2, materializer.materialize(spec).rowsWritten());
        long version = lakehouse.version(spec.tableName());
        assertTrue(materializer.materialize(spec).wroteNothing());
        assertEquals(version, lakehouse.version(spec.tableName()));

        events("raw.fs_shop2", "'A', TIMESTAMP_NTZ'2024-01-03 10:00:00', 40.0, 'x'",
                "'A', TIMESTAMP_NTZ'2024-01-01 18:00:00', 100.0, 'x'"); // the second one arrives late
        MaterializedVersion next = materializer.materialize(spec);
        assertEquals(1, next.rowsWritten());
        assertEquals(60.0, rows(spec).get("A 2024-01-03").<Double>getAs("sum_2d"), 1e-9);
        assertEquals(10.0, rows(spec).get("A 2024-01-01").<Double>getAs("sum_2d"), 1e-9);

        materializer.backfill(spec, LocalDate.of(2024, 1, 1), LocalDate.of(2024, 1, 2));
        Map<String, Row> after = rows(spec);
        assertEquals(3, after.size());
        assertEquals(110.0, after.get("A 2024-01-01").<Double>getAs("sum_2d"), 1e-9);
        assertEquals(130.0, after.get("A 2024-01-02").<Double>getAs("sum_2d"), 1e-9);
        assertEquals(60.0, after.get("A 2024-01-03").<Double>getAs("sum_2d"), 1e-9);
    }

    @Test
    void aChangedDefinitionNeedsANewVersionAndTheCatalogRecordsLineage() {
        events("raw.fs_shop3", "'A', TIMESTAMP_NTZ'2024-01-01 10:00:00', 10.0, 'x'",
                "'B', TIMESTAMP_NTZ'2024-01-01 11:00:00', 12.0, 'y'");
        FeatureSetSpec v1 = set("shop_c", "raw.fs_shop3", 1, FEATURES);
        materializer.materialize(v1);
        FeatureSetSpec changed = set("shop_c", "raw.fs_shop3", 1, FEATURES.replace("window = 1d }", "window = 3d }"));
        KilnException e = assertThrows(KilnException.class, () -> materializer.materialize(changed));
        assertTrue(e.getMessage().startsWith("feature set 'shop_c' v1 was materialized with definition "), e.getMessage());
        assertTrue(e.getMessage().contains("bump feature-sets.shop_c.version"), e.getMessage());

        FeatureSetSpec v2 = set("shop_c", "raw.fs_shop3", 2, FEATURES.replace("window = 1d }", "window = 3d }"));
        materializer.materialize(v2);
        assertTrue(lakehouse.exists(TableName.parse("features.shop_c__v1")));
        assertTrue(lakehouse.exists(TableName.parse("features.shop_c__v2")));

        Row[] catalog = (Row[]) lakehouse.spark().sql("SELECT version, feature, source, source_version, row_count,"
                + " null_rate, definition_hash, table_name FROM features.catalog WHERE feature_set = 'shop_c'"
                + " ORDER BY version, feature").collect();
        assertEquals(14, catalog.length);
        Row max1d = catalog[3]; // avg_2d, big_rate_2d, kinds_2d, max_1d, ...
        assertEquals("max_1d", max1d.getString(1));
        assertEquals("raw.fs_shop3", max1d.getString(2));
        assertEquals(lakehouse.version(TableName.parse("raw.fs_shop3")), max1d.getLong(3));
        assertEquals(2L, max1d.getLong(4));
        assertEquals(0.0, max1d.getDouble(5), 1e-9);
        assertEquals(v1.definitionHash(), max1d.getString(6));
        assertEquals("features.shop_c__v2", catalog[13].getString(7));
    }

    @Test
    void setsMaterializedAtTheSameTimeAreBothInTheCatalog() throws Exception {
        events("raw.fs_shop6", "'A', TIMESTAMP_NTZ'2024-01-01 10:00:00', 10.0, 'x'",
                "'B', TIMESTAMP_NTZ'2024-01-02 11:00:00', 12.0, 'y'");
        new dev.kiln.features.catalog.FeatureCatalog(lakehouse).ensureTable();
        List<FeatureSetSpec> specs = List.of(set("shop_e", "raw.fs_shop6", 1, FEATURES),
                set("shop_f", "raw.fs_shop6", 1, FEATURES));
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            java.util.concurrent.CountDownLatch start = new java.util.concurrent.CountDownLatch(1);
            List<java.util.concurrent.Future<MaterializedVersion>> runs = specs.stream()
                    .map(s -> pool.submit(() -> {
                        start.await();
                        return materializer.materialize(s);
                    })).toList();
            start.countDown();
            for (java.util.concurrent.Future<MaterializedVersion> r : runs) {
                r.get(5, java.util.concurrent.TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
        }
        Row[] catalog = (Row[]) lakehouse.spark().sql("SELECT feature_set, count(*), min(row_count) FROM features.catalog"
                + " WHERE feature_set IN ('shop_e', 'shop_f') GROUP BY feature_set ORDER BY feature_set").collect();
        assertEquals(2, catalog.length);
        for (Row r : catalog) {
            assertEquals(7L, r.getLong(1), r.getString(0));
            assertTrue(r.getLong(2) > 0, r.getString(0));
        }
    }

    @Test
    void badDefinitionsAreClearErrors() {
        assertEquals("feature-sets.s.features[0].window: window 6h is not a whole number of day periods (the feature"
                        + " set's grain)",
                assertThrows(ConfigException.class, () -> set("s", "raw.x", 1,
                        "features = [ { name = a, agg = count, window = 6h } ]")).getMessage());
        assertEquals("feature-sets.s.features[1].name: duplicate feature name 'a' in feature set 's'",
                assertThrows(ConfigException.class, () -> set("s", "raw.x", 1, "features = [ { name = a, agg = count,"
                        + " window = 1d }, { name = a, agg = \"sum(x)\", window = 1d } ]")).getMessage());
        assertEquals("feature-sets.s.features[0].agg: unknown aggregation 'median' (known: count, sum, avg, min, max,"
                        + " stddev, rate, approx_distinct)",
                assertThrows(ConfigException.class, () -> set("s", "raw.x", 1,
                        "features = [ { name = a, agg = \"median(x)\", window = 1d } ]")).getMessage());
        FeatureSets sets = FeatureSets.parse(ConfigFactory.parseString("feature-sets.b { version = 1, entity = [k],"
                + " source = raw.x, event-time = ts, ttl = 1d, features = [ { name = a, agg = count, window = 1d } ] }"));
        assertEquals("unknown feature set 'c' (known: b)", assertThrows(KilnException.class, () -> sets.get("c")).getMessage());

        events("raw.fs_shop4", "'A', TIMESTAMP_NTZ'2024-01-01 10:00:00', 10.0, 'x'");
        FeatureSetSpec wrongEntity = FeatureSets.parse(ConfigFactory.parseString("feature-sets.w { version = 1,"
                + " entity = [shop], source = raw.fs_shop4, event-time = ts, ttl = 1d,"
                + " features = [ { name = a, agg = count, window = 1d } ] }")).get("w");
        KilnException e = assertThrows(KilnException.class, () -> materializer.materialize(wrongEntity));
        assertTrue(e.getMessage().startsWith("feature-sets.w.entity: column 'shop' is not in raw.fs_shop4"), e.getMessage());
        FeatureSetSpec textTime = FeatureSets.parse(ConfigFactory.parseString("feature-sets.t { version = 1,"
                + " entity = [store], source = raw.fs_shop4, event-time = kind, ttl = 1d,"
                + " features = [ { name = a, agg = count, window = 1d } ] }")).get("t");
        e = assertThrows(KilnException.class, () -> materializer.materialize(textTime));
        assertEquals("feature-sets.t.event-time: column 'kind' is string, expected a timestamp or date", e.getMessage());
    }

    @Test
    void theCatalogHoldsNoJvmWideLock() {
        for (java.lang.reflect.Field f : dev.kiln.features.catalog.FeatureCatalog.class.getDeclaredFields()) {
            boolean lockLike = f.getType() == Object.class || java.util.concurrent.locks.Lock.class.isAssignableFrom(f.getType());
            org.junit.jupiter.api.Assertions.assertFalse(java.lang.reflect.Modifier.isStatic(f.getModifiers()) && lockLike,
                    "FeatureCatalog." + f.getName() + " is a JVM-wide lock: commit locks belong to a Lakehouse");
        }
    }
}
