package dev.kiln.lakehouse.maintenance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.TestLakehouse;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

class TableMaintenanceTest {
    private final Lakehouse lakehouse = TestLakehouse.get();
    private final TableMaintenance maintenance = new TableMaintenance(lakehouse);

    private TableName tableWithFiles(String name, int appends) {
        TableName t = TableName.of("ops", name);
        StructType schema = new StructType().add("id", DataTypes.LongType).add("grp", DataTypes.StringType);
        lakehouse.createIfMissing(t, schema, List.of(), "maintenance test", Map.of());
        for (int i = 0; i < appends; i++) {
            lakehouse.spark().range(i * 10L, i * 10L + 10).selectExpr("id", "cast(id % 3 as string) AS grp").coalesce(1)
                    .write().format("delta").mode("append").save(lakehouse.locationOf(t));
        }
        return t;
    }

    private long numFiles(TableName t) {
        return lakehouse.spark().sql("DESCRIBE DETAIL " + t.quoted()).select("numFiles").first().getLong(0);
    }

    @Test
    void optimizeCompactsSmallFilesAndKeepsEveryRow() {
        TableName t = tableWithFiles("maint_compact", 4);
        assertEquals(4, numFiles(t));
        Dataset<Row> metrics = maintenance.optimize(t, List.of());
        assertEquals(1, numFiles(t));
        assertEquals(40, lakehouse.read(t).count());
        assertEquals(4L, metrics.selectExpr("metrics.numFilesRemoved").first().getLong(0));
        assertEquals("OPTIMIZE", lakehouse.history(t).select("operation").first().getString(0));
    }

    @Test
    void zOrderByAnUnknownColumnIsRefusedNamingTheColumns() {
        TableName t = tableWithFiles("maint_zorder", 2);
        KilnException e = assertThrows(KilnException.class, () -> maintenance.optimize(t, List.of("grpp")));
        assertEquals("cannot z-order ops.maint_zorder by unknown column 'grpp' (columns: [id, grp])", e.getMessage());
        maintenance.optimize(t, List.of("grp"));
        assertTrue(lakehouse.history(t).select("operationParameters").first().getJavaMap(0).toString().contains("grp"));
    }

    @Test
    void vacuumOfAMissingTableIsAClearError() {
        KilnException e = assertThrows(KilnException.class,
                () -> maintenance.vacuum(TableName.of("ops", "no_such_table"), null));
        assertTrue(e.getMessage().startsWith("table ops.no_such_table does not exist"), e.getMessage());
        TableName t = tableWithFiles("maint_vacuum", 1);
        maintenance.vacuum(t, null);
        assertEquals(10, lakehouse.read(t).count());
    }
}
