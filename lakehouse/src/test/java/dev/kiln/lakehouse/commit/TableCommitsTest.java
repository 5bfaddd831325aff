package dev.kiln.lakehouse.commit;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.lakehouse.TestLakehouse;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/** The commit path on real Delta tables: results, idempotence, typed predicates and a real conflict retried. */
class TableCommitsTest {
    private static final StructType SCHEMA = new StructType()
            .add("day", DataTypes.DateType, false)
            .add("name", DataTypes.StringType, false)
            .add("value", DataTypes.LongType, false);

    private final Lakehouse lakehouse = TestLakehouse.get();

    private Dataset<Row> rows(Object[]... values) {
        List<Row> out = new ArrayList<>();
        for (Object[] v : values) {
            out.add(RowFactory.create(java.sql.Date.valueOf((String) v[0]), v[1], ((Number) v[2]).longValue()));
        }
        return lakehouse.spark().createDataFrame(out, SCHEMA);
    }

    private TableName table(String name) {
        TableName t = TableName.of("ops", name);
        lakehouse.createIfMissing(t, SCHEMA, List.of("day"), "commit path test", Map.of());
        return t;
    }

    @Test
    void idempotentAppendCommitsOnceAndARerunFindsThatCommit() {
        TableName t = table("commits_append");
        Commit first = lakehouse.commits().append(t, rows(new Object[] {"2001-01-01", "a", 1}, new Object[] {"2001-01-02", "b", 2}))
                .idempotent("test-batch", 0).commit();
        Commit again = lakehouse.commits().append(t, rows(new Object[] {"2001-01-01", "a", 1}, new Object[] {"2001-01-02", "b", 2}))
                .idempotent("test-batch", 0).commit();
        assertEquals(2, first.metric("numOutputRows"));
        assertEquals("WRITE", first.operation());
        assertEquals(first, again);
        assertEquals(first.version(), lakehouse.version(t));
        assertEquals(2, lakehouse.read(t).count());
    }

    @Test
    void replaceTakesOutOnlyWhatTheTypedPredicateSelects() {
        TableName t = table("commits_replace");
        lakehouse.commits().append(t, rows(new Object[] {"2001-01-01", "it's", 1}, new Object[] {"2001-01-01", "b", 2},
                new Object[] {"2001-01-02", "it's", 3})).commit();
        // A quote in the value is a value, not SQL.
        Predicate which = Predicate.eq("day", LocalDate.of(2001, 1, 1)).and(Predicate.eq("name", "it's"));
        assertEquals("(`day` = DATE'2001-01-01') AND (`name` = 'it\\'s')", which.toString());
        Commit c = lakehouse.commits().replace(t, rows(new Object[] {"2001-01-01", "it's", 10}), which).commit();
        assertEquals(1, c.metric("numOutputRows"));
        List<Row> after = lakehouse.read(t).orderBy("day", "name").collectAsList();
        assertEquals(List.of(2L, 10L, 3L), after.stream().map(r -> r.getLong(2)).toList()); // "b" sorts before "it's"
    }

    @Test
    void mergeAndUpdateReportTheirOwnCommits() {
        TableName t = table("commits_merge");
        lakehouse.commits().append(t, rows(new Object[] {"2001-01-01", "a", 1})).commit();
        Commit merged = lakehouse.commits().merge(t, rows(new Object[] {"2001-01-01", "a", 5}, new Object[] {"2001-01-01", "c", 7}),
                col("t.name").equalTo(col("s.name"))).updateAll().insertAll().commit();
        assertEquals(1, merged.metric("numTargetRowsInserted"));
        assertEquals(1, merged.metric("numTargetRowsUpdated"));
        assertEquals(2, merged.rowsWritten());
        Commit updated = lakehouse.commits().update(t, col("name").equalTo("c"), Map.of("value", lit(8L))).commit();
        assertEquals(merged.version() + 1, updated.version());
        assertEquals(1, updated.metric("numUpdatedRows"));
        Commit none = lakehouse.commits().update(t, col("name").equalTo("zzz"), Map.of("value", lit(9L))).commit();
        assertTrue(none.skipped() || none.metric("numUpdatedRows") == 0);
        // A MERGE that changes nothing commits nothing (an insert-only MERGE whose rows are all there): no error.
        Commit unchanged = lakehouse.commits().merge(t, rows(new Object[] {"2001-01-01", "c", 8}),
                col("t.name").equalTo(col("s.name"))).insertAll().commit();
        assertTrue(unchanged.skipped() || unchanged.metric("numTargetRowsInserted") == 0);
        Commit deleted = lakehouse.commits().delete(t, col("name").equalTo("a")).commit();
        assertFalse(deleted.skipped());
        assertEquals(List.of(8L), lakehouse.read(t).collectAsList().stream().map(r -> r.getLong(2)).toList());
    }

    // A real conflict: writer B's job waits (inside its only task) until writer A has replaced the same day, so B's
    // commit finds A's and Delta refuses it; the policy then runs B again, which commits on top of A.
    static final CountDownLatch B_RUNNING = new CountDownLatch(1);
    static final CountDownLatch A_COMMITTED = new CountDownLatch(1);
    static final AtomicInteger B_TRIES = new AtomicInteger();

    @Test
    void aRealConflictIsRetriedUnderThePolicy() throws Exception {
        TableName t = table("commits_conflict");
        lakehouse.commits().append(t, rows(new Object[] {"2001-01-01", "a", 1})).commit();
        List<Duration> pauses = new java.util.concurrent.CopyOnWriteArrayList<>();
        TableCommits observed = new TableCommits(lakehouse,
                new ConflictRetry(new CommitPolicy(3, Duration.ofMillis(10), Duration.ofMillis(10)), pauses::add, () -> 1.0));
        Dataset<Row> blocking = rows(new Object[] {"2001-01-01", "b", 2}).map((MapFunction<Row, Row>) r -> {
            if (B_TRIES.incrementAndGet() == 1) {
                B_RUNNING.countDown();
                A_COMMITTED.await(60, TimeUnit.SECONDS);
            }
            return r;
        }, org.apache.spark.sql.catalyst.encoders.ExpressionEncoder.apply(SCHEMA));
        Predicate day = Predicate.eq("day", LocalDate.of(2001, 1, 1));
        CompletableFuture<Commit> b = CompletableFuture.supplyAsync(() -> observed.replace(t, blocking, day).commit());
        assertTrue(B_RUNNING.await(60, TimeUnit.SECONDS));
        Commit a = lakehouse.commits().replace(t, rows(new Object[] {"2001-01-01", "a", 3}), day).commit();
        A_COMMITTED.countDown();
        Commit bCommit = b.get(120, TimeUnit.SECONDS);
        assertEquals(2, B_TRIES.get(), "B's job ran twice: refused once, then committed");
        assertEquals(List.of(Duration.ofMillis(10)), pauses);
        assertEquals(a.version() + 1, bCommit.version());
        assertEquals(List.of("b"), lakehouse.read(t).collectAsList().stream().map(r -> r.getString(1)).toList());
    }
}
