package dev.kiln.features;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.ConfigFactory;
import dev.kiln.features.definition.FeatureSets;
import dev.kiln.features.materialize.Materializer;
import dev.kiln.features.pointintime.FeatureRef;
import dev.kiln.features.pointintime.PointInTimeJoin;
import dev.kiln.lakehouse.TestLakehouse;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.Test;

/**
 * Event times are stored and compared as TIMESTAMP (UTC): a source whose times have no zone (TIMESTAMP_NTZ, as
 * lakehouses made before kept them) and the same times as TIMESTAMP give the same feature rows and the same
 * point-in-time matches, worked out by hand, at midnight boundaries and TTL edges.
 */
class EventTimeTypeTest {
    private static final Lakehouse LAKEHOUSE = TestLakehouse.get();

    private static FeatureSets sets(String source) {
        return FeatureSets.parse(ConfigFactory.parseString("""
                feature-sets.et_%1$s_day {
                  version = 1, entity = [store], source = "raw.et_%1$s", event-time = ts, grain = day, ttl = 2d
                  features = [ { name = n_1d, agg = count, window = 1d }, { name = amount_2d, agg = "sum(amount)", window = 2d } ]
                }
                feature-sets.et_%1$s_hour {
                  version = 1, entity = [store], source = "raw.et_%1$s", event-time = ts, grain = hour, ttl = 2h
                  features = [ { name = n_1h, agg = count, window = 1h } ]
                }
                """.formatted(source)));
    }

    /** The source rows, with event times of {@code type}; returns the joined answers per event. */
    private static List<String> answers(String name, String type) {
        LAKEHOUSE.ensureSchema("raw");
        TableName table = TableName.of("raw", "et_" + name);
        LAKEHOUSE.spark().sql("CREATE TABLE " + table.quoted() + " (store STRING, ts " + type + ", amount DOUBLE) USING delta"
                + " LOCATION '" + LAKEHOUSE.locationOf(table) + "'");
        LAKEHOUSE.spark().sql("INSERT INTO " + table.quoted() + " VALUES"
                + " ('A', " + type + "'2024-01-01 23:59:59', 1.0),"   // the last second of Jan 1
                + " ('A', " + type + "'2024-01-02 00:00:00', 2.0),"   // midnight: belongs to Jan 2
                + " ('A', " + type + "'2024-01-02 23:00:00', 4.0),"
                + " ('B', " + type + "'2024-01-01 00:00:00', 8.0)");
        FeatureSets sets = sets(name);
        Materializer materializer = new Materializer(LAKEHOUSE, m -> { });
        materializer.materialize(sets.get("et_" + name + "_day"));
        materializer.materialize(sets.get("et_" + name + "_hour"));
        assertEquals(DataTypes.TimestampType, LAKEHOUSE.read(TableName.of("features", "et_" + name + "_day__v1"))
                .schema().apply(Materializer.PERIOD_START).dataType(), "period_start is stored as TIMESTAMP");

        // Events as the old code's callers gave them: zone-less times.
        var events = LAKEHOUSE.spark().sql("SELECT * FROM VALUES"
                + " (1, 'A', TIMESTAMP_NTZ'2024-01-02 00:00:00'),"  // Jan 1 just ended: its one row; hour 23 of Jan 1
                + " (2, 'A', TIMESTAMP_NTZ'2024-01-01 23:59:59'),"  // Jan 1 not over: Dec 31, no history
                + " (3, 'A', TIMESTAMP_NTZ'2024-01-03 00:00:00'),"  // Jan 2 ended: 2 rows, 2 days' sum 7
                + " (4, 'A', TIMESTAMP_NTZ'2024-01-05 00:00:00'),"  // past the last period (Jan 2, ended Jan 3): exactly the 2 d TTL
                + " (5, 'A', TIMESTAMP_NTZ'2024-01-05 00:00:01'),"  // one second past the TTL: missing
                + " (6, 'A', TIMESTAMP_NTZ'2024-01-04 23:59:59'),"
                + " (7, 'B', TIMESTAMP_NTZ'2024-01-02 00:00:00'),"  // B's one hour (Jan 1, 00h) is long past its 2 h TTL
                + " (8, 'A', TIMESTAMP_NTZ'2024-01-02 01:00:00'),"  // hourly: hour 00 of Jan 2 just ended
                + " (9, 'A', TIMESTAMP_NTZ'2024-01-03 01:00:00'),"  // the last hour (23 of Jan 2) ended 1 h ago
                + " (10, 'A', TIMESTAMP_NTZ'2024-01-03 02:00:01'),"  // ... 2 h and 1 s ago: missing
                + " (11, 'A', TIMESTAMP_NTZ'2024-01-03 02:00:00')"  // ... exactly 2 h ago: fresh
                + " AS e(event_id, store, event_ts)");
        List<FeatureRef> refs = List.of(FeatureRef.parse("et_" + name + "_day:n_1d"), FeatureRef.parse("et_" + name + "_day:amount_2d"),
                FeatureRef.parse("et_" + name + "_hour:n_1h"));
        Row[] rows = (Row[]) new PointInTimeJoin(LAKEHOUSE, sets).join(events, "event_ts", refs).orderBy("event_id").collect();
        List<String> out = new ArrayList<>();
        for (Row r : rows) {
            out.add(r.getAs("event_id") + ": " + r.get(3) + " " + r.get(4) + " " + r.get(5) + " " + r.get(6) + " " + r.get(7));
        }
        return out;
    }

    @Test
    void zoneLessAndUtcSourcesGiveTheSameKnownAnswers() {
        // event: n_1d amount_2d day-missing n_1h hour-missing
        List<String> want = List.of(
                "1: 1 1.0 false 1 false",
                "2: null null true null true",
                "3: 2 7.0 false 1 false",
                "4: 2 7.0 false null true",
                "5: null null true null true",
                "6: 2 7.0 false null true",
                "7: 1 8.0 false null true",
                "8: 1 1.0 false 1 false",
                "9: 2 7.0 false 1 false",
                "10: 2 7.0 false null true",
                "11: 2 7.0 false 1 false");
        assertEquals(want, answers("ntz", "TIMESTAMP_NTZ"), "a zone-less source");
        assertEquals(want, answers("utc", "TIMESTAMP"), "a UTC source");
    }
}
