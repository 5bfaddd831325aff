package dev.kiln.jobs.sqlserver;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.TestLakehouse;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The read-only check on analyzed plans of real statements over a real Delta table (the shared test session). */
class ReadOnlySqlTest {
    private static SparkSession spark;

    @BeforeAll
    static void table() {
        spark = TestLakehouse.get().spark();
        spark.sql("CREATE DATABASE IF NOT EXISTS ro_test");
        spark.sql("CREATE TABLE IF NOT EXISTS ro_test.t (id BIGINT, name STRING) USING delta");
        if (spark.table("ro_test.t").isEmpty()) { // a version 1, so that RESTORE to version 0 is a real restore
            spark.sql("INSERT INTO ro_test.t VALUES (0, 'first')");
        }
    }

    private static LogicalPlan analyzed(String sql) throws Exception {
        return spark.sessionState().analyzer().execute(spark.sessionState().sqlParser().parsePlan(sql));
    }

    private static String planOf(String sql) {
        try {
            LogicalPlan parsed = spark.sessionState().sqlParser().parsePlan(sql);
            LogicalPlan p = analyzed(sql);
            return "parsed " + parsed.getClass().getName() + "\n" + parsed.treeString() + "\nanalyzed " + p.getClass().getName() + "\n" + p.treeString();
        } catch (Exception e) {
            return e.toString();
        }
    }

    @Test
    void readsAndSessionSettingsPass() {
        for (String sql : List.of("SELECT count(*) FROM ro_test.t", "WITH x AS (SELECT * FROM ro_test.t) SELECT name FROM x",
                "SHOW DATABASES", "SHOW TABLES IN ro_test", "SHOW COLUMNS IN ro_test.t", "SHOW CREATE TABLE ro_test.t",
                "SHOW TBLPROPERTIES ro_test.t", "SHOW FUNCTIONS", "DESCRIBE ro_test.t", "DESCRIBE EXTENDED ro_test.t",
                "DESCRIBE DATABASE ro_test", "DESCRIBE FUNCTION upper", "DESCRIBE HISTORY ro_test.t", "DESCRIBE DETAIL ro_test.t",
                "EXPLAIN SELECT * FROM ro_test.t", "SET spark.sql.shuffle.partitions=4", "SET", "RESET", "USE ro_test",
                "CREATE TEMPORARY VIEW w AS SELECT 1 AS x", "CREATE OR REPLACE TEMP VIEW w AS SELECT * FROM ro_test.t")) {
            assertDoesNotThrow(() -> ReadOnlySql.check(analyzed(sql)), sql);
        }
    }

    @Test
    void writesAndDdlAreRefusedNamingTheSwitch() {
        for (String sql : List.of("INSERT INTO ro_test.t VALUES (1, 'a')", "INSERT OVERWRITE ro_test.t SELECT * FROM ro_test.t",
                "MERGE INTO ro_test.t USING ro_test.t s ON t.id = s.id WHEN MATCHED THEN UPDATE SET *",
                "UPDATE ro_test.t SET name = 'b'", "DELETE FROM ro_test.t", "CREATE DATABASE ro_other",
                "CREATE TABLE ro_test.u (x INT) USING delta", "CREATE TABLE ro_test.v USING delta AS SELECT 1 AS x",
                "CREATE VIEW ro_test.w AS SELECT 1 AS x", "CREATE GLOBAL TEMPORARY VIEW g AS SELECT 1 AS x",
                "DROP TABLE ro_test.t", "DROP DATABASE ro_test CASCADE", "ALTER TABLE ro_test.t ADD COLUMNS (z INT)",
                "ALTER TABLE ro_test.t SET TBLPROPERTIES ('a' = 'b')", "TRUNCATE TABLE ro_test.t", "CACHE TABLE ro_test.t",
                "ADD JAR /tmp/x.jar", "OPTIMIZE ro_test.t", "VACUUM ro_test.t",
                "ANALYZE TABLE ro_test.t COMPUTE STATISTICS", "ANALYZE TABLE ro_test.t COMPUTE STATISTICS FOR ALL COLUMNS",
                "RESTORE TABLE ro_test.t TO VERSION AS OF 0", "REFRESH TABLE ro_test.t",
                "REORG TABLE ro_test.t APPLY (PURGE)",
                "GENERATE symlink_format_manifest FOR TABLE ro_test.t", "CREATE TABLE ro_test.c SHALLOW CLONE ro_test.t")) {
            KilnException e = assertThrows(KilnException.class, () -> ReadOnlySql.check(analyzed(sql)), () -> sql + "\n" + planOf(sql));
            assertTrue(e.getMessage().startsWith("the Kiln SQL server is read-only: ") && e.getMessage().contains("--allow-writes"),
                    sql + ": " + e.getMessage());
        }
        assertDoesNotThrow(() -> spark.sql("SELECT count(*) FROM ro_test.t").collect(), "the session itself stays writable");
    }
}
