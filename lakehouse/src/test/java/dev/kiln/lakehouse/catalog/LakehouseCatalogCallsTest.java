package dev.kiln.lakehouse.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.TestLakehouse;
import java.net.URI;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/**
 * A job asks the catalog about a table once: later existence checks and reads of Kiln's own tables go by path
 * (issue 38: 66 to 283 metastore calls per pipeline stage before; the bench's --compare counts the Hive client's
 * calls, the unit tests' catalog is in-memory, so this counts the lakehouse's own lookups). Tables elsewhere are
 * still read by name.
 */
class LakehouseCatalogCallsTest {
    private static final Lakehouse LAKEHOUSE = TestLakehouse.get();

    @Test
    void aTableIsLookedUpOnceThenReadByPath() {
        TableName t = TableName.parse("ops.catalog_calls");
        Lakehouse fresh = new Lakehouse(LAKEHOUSE.spark(), LAKEHOUSE.settings());
        fresh.createIfMissing(t, new StructType().add("x", DataTypes.IntegerType, false), List.of(), "", Map.of());
        LAKEHOUSE.spark().range(5).selectExpr("CAST(id AS INT) AS x").write().format("delta").mode("append").save(fresh.locationOf(t));

        // A new lakehouse instance (a new job) knows nothing yet: its first check looks the table up.
        Lakehouse job = new Lakehouse(LAKEHOUSE.spark(), LAKEHOUSE.settings());
        assertTrue(job.exists(t));
        assertEquals(1, job.lookups(), "the first check asks the catalog");
        for (int i = 0; i < 5; i++) {
            assertTrue(job.exists(t));
            assertEquals(5, job.read(t).count());
            assertEquals(0, job.readVersion(t, 0).count());
            job.delta(t).toDF().count();
            job.createIfMissing(t, new StructType().add("x", DataTypes.IntegerType, false), List.of(), "", Map.of());
        }
        assertEquals(1, job.lookups(), "checks and reads after the first lookup ask the catalog nothing");
        // Read by path: the plan names no catalog table (a read by name does, see below).
        String plan = job.read(t).queryExecution().analyzed().toString();
        assertFalse(plan.contains("spark_catalog"), plan);

        // Unknown tables are still an error naming the table, and each check of a missing one asks again.
        KilnException e = assertThrows(KilnException.class, () -> job.read(TableName.parse("ops.no_such_table")));
        assertEquals("table ops.no_such_table does not exist (run `kiln tables` to list the tables)", e.getMessage());
        assertFalse(job.exists(TableName.parse("no_such_schema.t")));
    }

    @Test
    void aTableRegisteredElsewhereIsReadByName() throws Exception {
        TableName t = TableName.parse("ops.catalog_elsewhere");
        String elsewhere = TestLakehouse.tempDir("elsewhere").toUri().toString();
        LAKEHOUSE.ensureSchema("ops");
        LAKEHOUSE.spark().range(3).write().format("delta").option("path", elsewhere).saveAsTable(t.toString());
        Lakehouse job = new Lakehouse(LAKEHOUSE.spark(), LAKEHOUSE.settings());
        assertEquals(3, job.read(t).count());
        String plan = job.read(t).queryExecution().analyzed().toString();
        assertTrue(plan.contains("spark_catalog.ops.catalog_elsewhere"), "read through the catalog: " + plan);
    }

    @Test
    void locationsCompareBySchemeAuthorityAndPath() {
        assertTrue(Lakehouse.sameLocation(URI.create("file:/tmp/a/b"), URI.create("file:///tmp/a/b/")));
        assertTrue(Lakehouse.sameLocation(URI.create("/tmp/a/b"), URI.create("file:/tmp/a/b")));
        assertFalse(Lakehouse.sameLocation(URI.create("file:/tmp/a/b"), URI.create("file:/tmp/a/c")));
        assertFalse(Lakehouse.sameLocation(URI.create("s3a://x/a"), URI.create("s3a://y/a")));
    }
}
