package dev.kiln.lakehouse.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.TestLakehouse;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import dev.kiln.lakehouse.config.ConfigException;
import dev.kiln.lakehouse.config.KilnConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

class IngestionTest {
    private final Lakehouse lakehouse = TestLakehouse.get();
    private final List<String> progress = new ArrayList<>();
    private final Ingestion ingestion = new Ingestion(lakehouse, progress::add);

    /** A CSV dataset of trips: id (key), ts, fare, city; derived trip_date; expectation fare >= 0. */
    private static String tripsSpec(String name, String path, String extra) {
        return "datasets." + name + " {\n"
                + "  source { format = csv, path = \"" + path + "\" }\n"
                + "  schema = [ { name = id, type = int, nullable = false }, { name = ts, type = timestamp },"
                + "             { name = fare, type = \"decimal(8,2)\" }, { name = city, type = string } ]\n"
                + "  event-time = ts\n"
                + "  derived = [ { name = trip_date, expr = \"to_date(ts)\" } ]\n"
                + "  partition-by = [trip_date]\n"
                + "  keys = [id]\n"
                + "  expectations = [ { name = fare_not_negative, expr = \"fare >= 0\" } ]\n"
                + extra + "\n}\n";
    }

    private DatasetSpec spec(String name, Path path, String extra) {
        return TestLakehouse.config(tripsSpec(name, path.toString(), extra)).dataset(name);
    }

    private long count(String table) {
        return lakehouse.read(TableName.parse(table)).count();
    }

    private List<String> reasons(String table) {
        return Arrays.stream((Row[]) lakehouse.read(TableName.parse(table)).select("_reason").orderBy("_reason").collect())
                .map(r -> r.getString(0)).toList();
    }

    @Test
    void acceptsGoodRowsQuarantinesTheRestAndAccountsForEveryRow() {
        Path dir = TestLakehouse.tempDir("trips-good");
        TestLakehouse.write(dir, "part1.csv", """
                id,ts,fare,city
                1,2024-01-01 08:00:00,12.50,Oslo
                2,2024-01-01 23:59:59,7.00,Bergen
                3,2024-01-02 00:00:00,-1.00,Oslo
                4,not-a-time,3.00,Oslo
                5,2024-01-02 10:00:00,abc,Oslo
                ,2024-01-02 11:00:00,4.00,Oslo
                """);
        IngestResult r = ingestion.ingest(spec("trips_good", dir, ""), Optional.empty());

        assertEquals(6, r.rowsRead());
        assertEquals(2, r.rowsWritten());
        assertEquals(4, r.rowsQuarantined());
        assertEquals(2, count("raw.trips_good"));
        assertEquals(4, count("raw.trips_good_quarantine"));
        assertEquals(List.of(
                "column 'fare': value 'abc' is not a valid decimal(8,2)",
                "column 'ts': value 'not-a-time' is not a valid timestamp",
                "expectation 'fare_not_negative' failed: fare >= 0",
                "key column 'id' is null"), reasons("raw.trips_good_quarantine"));
        Row[] days = (Row[]) lakehouse.spark().sql("SELECT trip_date, count(*) FROM raw.trips_good GROUP BY trip_date ORDER BY 1")
                .collect();
        assertEquals("2024-01-01", days[0].get(0).toString());
        assertEquals(2L, days[0].getLong(1));
        Row audit = lakehouse.read(TableName.parse("raw.trips_good")).select("_batch_id", "_source_file").first();
        assertEquals(r.batchId(), audit.getString(0));
        assertTrue(audit.getString(1).endsWith("part1.csv"), audit.getString(1));
        List<String> partitions = lakehouse.spark().sql("DESCRIBE DETAIL raw.trips_good").first().getList(
                lakehouse.spark().sql("DESCRIBE DETAIL raw.trips_good").first().fieldIndex("partitionColumns"));
        assertEquals(List.of("trip_date"), partitions);
        assertFalse(progress.isEmpty());
    }

    @Test
    void reRunningACommittedBatchAddsNothing() {
        Path dir = TestLakehouse.tempDir("trips-rerun");
        TestLakehouse.write(dir, "a.csv", "id,ts,fare,city\n1,2024-01-01 08:00:00,1.00,Oslo\n2,2024-01-01 09:00:00,-2.00,Oslo\n");
        DatasetSpec spec = spec("trips_rerun", dir, "");
        IngestResult first = ingestion.ingest(spec, Optional.empty());
        long version = lakehouse.version(TableName.parse("raw.trips_rerun"));
        IngestResult second = ingestion.ingest(spec, Optional.empty());

        assertFalse(first.alreadyCommitted());
        assertTrue(second.alreadyCommitted());
        assertEquals(first.batchId(), second.batchId());
        assertEquals(0, second.rowsWritten());
        assertEquals(1, count("raw.trips_rerun"));
        assertEquals(1, count("raw.trips_rerun_quarantine"));
        assertEquals(version, lakehouse.version(TableName.parse("raw.trips_rerun")));
    }

    @Test
    void aBatchWhoseQuarantineCommitWasLostIsCompletedByARerunWithoutDuplicatingRows() {
        Path dir = TestLakehouse.tempDir("trips-crash");
        TestLakehouse.write(dir, "a.csv", "id,ts,fare,city\n1,2024-01-01 08:00:00,1.00,Oslo\n2,2024-01-01 09:00:00,-2.00,Oslo\n");
        DatasetSpec spec = spec("trips_crash", dir, "");
        ingestion.ingest(spec, Optional.of("day-1"));
        // Simulate a crash after the data commit: remove the quarantine table entirely.
        lakehouse.spark().sql("DROP TABLE raw.trips_crash_quarantine");
        lakehouse.forget(TableName.parse("raw.trips_crash_quarantine"));
        deleteRecursively(Path.of(java.net.URI.create(lakehouse.locationOf(TableName.parse("raw.trips_crash_quarantine")))));

        IngestResult again = ingestion.ingest(spec, Optional.of("day-1"));
        assertFalse(again.alreadyCommitted());
        assertEquals(1, count("raw.trips_crash"));
        assertEquals(1, count("raw.trips_crash_quarantine"));
        assertEquals(1, again.rowsWritten());
        assertEquals(1, again.rowsQuarantined());
    }

    @Test
    void sourceFileIsRecordedTheSameWayForOneFileAndForMany() {
        Path dir = TestLakehouse.tempDir("trips files#1"); // characters a URI encodes
        TestLakehouse.write(dir, "a.csv", "id,ts,fare,city\n1,2024-01-01 08:00:00,1.00,Oslo\n");
        TestLakehouse.write(dir, "b.csv", "id,ts,fare,city\n2,2024-01-01 09:00:00,2.00,Oslo\n");
        ingestion.ingest(spec("trips_files_many", dir, ""), Optional.empty());
        ingestion.ingest(spec("trips_files_one", dir.resolve("a.csv"), ""), Optional.empty());
        Row[] many = (Row[]) lakehouse.spark().sql("SELECT _source_file FROM raw.trips_files_many ORDER BY id").collect();
        Row one = lakehouse.spark().sql("SELECT _source_file FROM raw.trips_files_one").first();
        assertEquals(2, many.length);
        assertEquals(many[0].getString(0), one.getString(0));
        assertTrue(many[1].getString(0).endsWith("/b.csv"), many[1].getString(0));
        assertTrue(one.getString(0).startsWith("file:/") && !one.getString(0).startsWith("file://"), one.getString(0));
        assertTrue(one.getString(0).contains("trips%20files%231"), one.getString(0));
        // Parquet files, read as the GPU reads them (no hidden metadata column in the scan).
        Path pq = TestLakehouse.tempDir("trips parquet");
        lakehouse.spark().sql("SELECT cast(id AS int) AS id, timestamp'2024-01-01 08:00:00' AS ts, cast(1.5 AS decimal(8,2)) AS fare,"
                + " 'Oslo' AS city FROM range(4)").repartition(2).write().parquet(pq.resolve("p").toString());
        String parquet = tripsSpec("trips_files_pq", pq.resolve("p").toString(), "").replace("format = csv", "format = parquet");
        ingestion.ingest(TestLakehouse.config(parquet).dataset("trips_files_pq"), Optional.empty());
        List<String> files = lakehouse.spark().sql("SELECT DISTINCT _source_file FROM raw.trips_files_pq").as(
                org.apache.spark.sql.Encoders.STRING()).collectAsList();
        assertEquals(2, files.stream().filter(f -> f.matches("file:/[^/].*trips%20parquet[0-9]*/p/part-.*")).count(), files.toString());
    }

    @Test
    void malformedCsvLinesAreQuarantinedWithTheRawLine() {
        Path dir = TestLakehouse.tempDir("trips-malformed");
        TestLakehouse.write(dir, "a.csv", "id,ts,fare,city\n1,2024-01-01 08:00:00,1.00,Oslo\n2,2024-01-01 09:00:00\n3,2024-01-01 09:00:00,1.00,Oslo,extra\n");
        IngestResult r = ingestion.ingest(spec("trips_malformed", dir, ""), Optional.empty());
        assertEquals(3, r.rowsRead());
        assertEquals(1, r.rowsWritten());
        assertEquals(2, r.rowsQuarantined());
        Row[] raw = (Row[]) lakehouse.spark().sql("SELECT _raw_record, _reason FROM raw.trips_malformed_quarantine ORDER BY 1").collect();
        assertEquals("2,2024-01-01 09:00:00", raw[0].getString(0));
        assertTrue(raw[0].getString(1).contains("malformed record"), raw[0].getString(1));
    }

    @Test
    void missingPathFailsAndCreatesNothing() {
        DatasetSpec spec = spec("trips_missing", Path.of("/nonexistent/kiln/trips/*.csv"), "");
        KilnException e = assertThrows(KilnException.class, () -> ingestion.ingest(spec, Optional.empty()));
        assertTrue(e.getMessage().contains("does not exist or matches no files"), e.getMessage());
        assertFalse(lakehouse.exists(TableName.parse("raw.trips_missing")));
    }

    @Test
    void emptyFileFailsAndCreatesNothing() {
        Path dir = TestLakehouse.tempDir("trips-empty");
        TestLakehouse.write(dir, "a.csv", "");
        KilnException e = assertThrows(KilnException.class,
                () -> ingestion.ingest(spec("trips_empty", dir, ""), Optional.empty()));
        assertTrue(e.getMessage().contains("is empty"), e.getMessage());
        assertFalse(lakehouse.exists(TableName.parse("raw.trips_empty")));
    }

    @Test
    void headerOnlyFileFailsAsHavingNoRows() {
        Path dir = TestLakehouse.tempDir("trips-header");
        TestLakehouse.write(dir, "a.csv", "id,ts,fare,city\n");
        KilnException e = assertThrows(KilnException.class,
                () -> ingestion.ingest(spec("trips_header", dir, ""), Optional.empty()));
        assertTrue(e.getMessage().contains("hold no rows"), e.getMessage());
        assertFalse(lakehouse.exists(TableName.parse("raw.trips_header")));
    }

    @Test
    void unreadableParquetFailsAndCreatesNothing() throws Exception {
        Path dir = TestLakehouse.tempDir("trips-corrupt");
        Files.write(dir.resolve("part-0.parquet"), "this is not parquet at all".getBytes());
        String hocon = "datasets.trips_corrupt { source { format = parquet, path = \"" + dir + "\" }\n"
                + " schema = [ { name = id, type = int } ], event-time = id }";
        DatasetSpec spec = TestLakehouse.config(hocon).dataset("trips_corrupt");
        KilnException e = assertThrows(KilnException.class, () -> ingestion.ingest(spec, Optional.empty()));
        assertTrue(e.getMessage().startsWith("cannot read the source files of dataset 'trips_corrupt'"), e.getMessage());
        assertFalse(lakehouse.exists(TableName.parse("raw.trips_corrupt")));
    }

    @Test
    void parquetValuesThatDoNotConvertExactlyAreQuarantined() {
        Path dir = TestLakehouse.tempDir("trips-parquet");
        lakehouse.spark().sql("SELECT * FROM VALUES (1, 1.0D, 'a'), (2, 2.5D, 'b'), (3, 3000000000.0D, 'c') AS t(id, amount, tag)")
                .coalesce(1).write().parquet(dir.resolve("in").toString());
        String hocon = "datasets.amounts { source { format = parquet, path = \"" + dir.resolve("in") + "\" }\n"
                + " schema = [ { name = id, type = int }, { name = amount, type = int }, { name = tag, type = string } ],"
                + " event-time = id }";
        IngestResult r = ingestion.ingest(TestLakehouse.config(hocon).dataset("amounts"), Optional.empty());
        assertEquals(3, r.rowsRead());
        assertEquals(1, r.rowsWritten());
        assertEquals(List.of("column 'amount': value '2.5' is not a valid int",
                "column 'amount': value '3.0E9' is not a valid int"), reasons("raw.amounts_quarantine"));
    }

    @Test
    void parquetIntegersNarrowedOrWidenedExactlyAsTryCastWould() {
        Path dir = TestLakehouse.tempDir("trips-integers");
        lakehouse.spark().sql("SELECT * FROM VALUES (1, 7L, 5, 3L), (2, -2147483649L, 6, 200L), (3, 2147483647L, -2147483648, -128L),"
                + " (4, -2147483648L, 8, 128L), (5, NULL, NULL, NULL) AS t(id, big, small, tiny)")
                .coalesce(1).write().parquet(dir.resolve("in").toString());
        String hocon = "datasets.integers { source { format = parquet, path = \"" + dir.resolve("in") + "\" }\n"
                + " schema = [ { name = id, type = int }, { name = big, type = int }, { name = small, type = bigint },"
                + " { name = tiny, type = tinyint } ], event-time = id }";
        IngestResult r = ingestion.ingest(TestLakehouse.config(hocon).dataset("integers"), Optional.empty());
        assertEquals(5, r.rowsRead());
        assertEquals(3, r.rowsWritten()); // ids 1, 3 and 5 (nulls stay null); 2 and 4 do not fit
        assertEquals(List.of("column 'big': value '-2147483649' is not a valid int; column 'tiny': value '200' is not a valid tinyint",
                "column 'tiny': value '128' is not a valid tinyint"), reasons("raw.integers_quarantine"));
        assertEquals("[[1,7,5,3], [3,2147483647,-2147483648,-128]]", List.of((Row[]) lakehouse.spark()
                .sql("SELECT id, big, small, tiny FROM raw.integers WHERE id < 5 ORDER BY id").collect()).toString());
        assertEquals(1, lakehouse.spark().sql("SELECT * FROM raw.integers WHERE id = 5 AND big IS NULL AND tiny IS NULL").count());
    }

    @Test
    void mergeUpsertsOnKeysAndQuarantinesDuplicateKeysWithinTheBatch() throws Exception {
        Path day1 = TestLakehouse.tempDir("trips-merge-1");
        TestLakehouse.write(day1, "a.csv", "id,ts,fare,city\n1,2024-01-01 08:00:00,1.00,Oslo\n2,2024-01-01 09:00:00,2.00,Oslo\n");
        Path day2 = TestLakehouse.tempDir("trips-merge-2");
        TestLakehouse.write(day2, "a.csv", "id,ts,fare,city\n2,2024-01-01 09:00:00,20.00,Oslo\n3,2024-01-01 10:00:00,3.00,Oslo\n"
                + "4,2024-01-01 10:00:00,4.00,Oslo\n4,2024-01-01 11:00:00,5.00,Oslo\n");
        DatasetSpec spec = spec("trips_merge", day1, "write-mode = merge");
        ingestion.ingest(spec, Optional.empty());
        // Other jobs share this session: the MERGE's transaction settings must never show up on it.
        java.util.Set<String> leaked = java.util.concurrent.ConcurrentHashMap.newKeySet();
        org.apache.spark.scheduler.SparkListener watch = new org.apache.spark.scheduler.SparkListener() {
            @Override
            public void onJobStart(org.apache.spark.scheduler.SparkListenerJobStart job) {
                for (String key : List.of("spark.databricks.delta.write.txnAppId", "spark.databricks.delta.commitInfo.userMetadata")) {
                    if (lakehouse.spark().conf().getOption(key).isDefined()) {
                        leaked.add(key);
                    }
                }
            }
        };
        lakehouse.spark().sparkContext().addSparkListener(watch);
        IngestResult r;
        try {
            r = ingestion.ingest(spec.withPath(day2.toString()), Optional.empty());
        } finally {
            lakehouse.spark().sparkContext().listenerBus().waitUntilEmpty();
            lakehouse.spark().sparkContext().removeSparkListener(watch);
        }
        assertEquals(java.util.Set.of(), leaked, "session-wide settings set during the MERGE");
        IngestResult rerun = ingestion.ingest(spec.withPath(day2.toString()), Optional.empty());

        assertEquals(4, r.rowsRead());
        assertEquals(2, r.rowsWritten());
        assertEquals(2, r.rowsQuarantined());
        assertTrue(rerun.alreadyCommitted());
        assertEquals(3, count("raw.trips_merge"));
        Row two = lakehouse.spark().sql("SELECT fare FROM raw.trips_merge WHERE id = 2").first();
        assertEquals(0, new java.math.BigDecimal("20.00").compareTo(two.getDecimal(0)));
        assertEquals(List.of("duplicate key [id] within the batch (2 rows)", "duplicate key [id] within the batch (2 rows)"),
                reasons("raw.trips_merge_quarantine"));
    }

    @Test
    void aTypeChangeIsRefusedNamingTheColumnAndBothTypes() {
        Path dir = TestLakehouse.tempDir("trips-type");
        TestLakehouse.write(dir, "a.csv", "id,ts,fare,city\n1,2024-01-01 08:00:00,1.00,Oslo\n");
        ingestion.ingest(spec("trips_type", dir, ""), Optional.empty());
        Path dir2 = TestLakehouse.tempDir("trips-type-2");
        TestLakehouse.write(dir2, "a.csv", "id,ts,fare,city\n2,2024-01-01 08:00:00,1.00,Oslo\n");
        String changed = tripsSpec("trips_type", dir2.toString(), "").replace("decimal(8,2)", "double");
        DatasetSpec spec = TestLakehouse.config(changed).dataset("trips_type");
        long before = lakehouse.version(TableName.parse("raw.trips_type"));
        KilnException e = assertThrows(KilnException.class, () -> ingestion.ingest(spec, Optional.empty()));
        assertTrue(e.getMessage().startsWith("column 'fare' is decimal(8,2) in raw.trips_type but double"), e.getMessage());
        assertEquals(before, lakehouse.version(TableName.parse("raw.trips_type")));
    }

    @Test
    void undeclaredSourceColumnsAreRefusedUnlessAllowed() {
        Path dir = TestLakehouse.tempDir("trips-new");
        TestLakehouse.write(dir, "a.csv", "id,ts,fare,city\n1,2024-01-01 08:00:00,1.00,Oslo\n");
        DatasetSpec spec = spec("trips_new", dir, "");
        ingestion.ingest(spec, Optional.empty());
        Path dir2 = TestLakehouse.tempDir("trips-new-2");
        TestLakehouse.write(dir2, "a.csv", "id,ts,fare,city,tip\n2,2024-01-01 08:00:00,1.00,Oslo,0.50\n");
        KilnException e = assertThrows(KilnException.class,
                () -> ingestion.ingest(spec.withPath(dir2.toString()), Optional.empty()));
        assertTrue(e.getMessage().contains("has column(s) [tip] that are not in its contract"), e.getMessage());

        IngestResult r = ingestion.ingest(spec.withPath(dir2.toString()).withAllowNewColumns(true), Optional.empty());
        assertEquals(1, r.rowsWritten());
        assertTrue(Arrays.asList(lakehouse.read(TableName.parse("raw.trips_new")).columns()).contains("tip"));
        assertEquals(2, count("raw.trips_new"));
    }

    @Test
    void jsonRecordsAreCheckedLikeCsv() {
        Path dir = TestLakehouse.tempDir("events-json");
        TestLakehouse.write(dir, "a.json", "{\"id\": 1, \"kind\": \"click\"}\n{\"id\": \"x\", \"kind\": \"view\"}\n{oops\n");
        String hocon = "datasets.events { source { format = json, path = \"" + dir + "\" }\n"
                + " schema = [ { name = id, type = bigint }, { name = kind, type = string } ], event-time = id }";
        IngestResult r = ingestion.ingest(TestLakehouse.config(hocon).dataset("events"), Optional.empty());
        assertEquals(3, r.rowsRead());
        assertEquals(1, r.rowsWritten());
        assertEquals(2, r.rowsQuarantined());
    }

    @Test
    void anExpectationThatIsNotBooleanIsAConfigError() {
        Path dir = TestLakehouse.tempDir("trips-badexp");
        TestLakehouse.write(dir, "a.csv", "id,ts,fare,city\n1,2024-01-01 08:00:00,1.00,Oslo\n");
        String hocon = tripsSpec("trips_badexp", dir.toString(), "").replace("fare >= 0", "fare + 1");
        KilnException e = assertThrows(KilnException.class,
                () -> ingestion.ingest(TestLakehouse.config(hocon).dataset("trips_badexp"), Optional.empty()));
        assertTrue(e.getMessage().startsWith("datasets.trips_badexp.expectations[0].expr: 'fare + 1' is decimal"), e.getMessage());
        assertFalse(lakehouse.exists(TableName.parse("raw.trips_badexp")));
    }

    @Test
    void unknownDatasetAndBadTableNamesAreClearErrors() {
        KilnConfig config = TestLakehouse.config(tripsSpec("trips_x", "/tmp/x", ""));
        ConfigException unknown = assertThrows(ConfigException.class, () -> config.dataset("flightz"));
        assertEquals("datasets.flightz: unknown dataset 'flightz' (known: trips_x)", unknown.getMessage());
        ConfigException badTable = assertThrows(ConfigException.class,
                () -> TestLakehouse.config(tripsSpec("trips_y", "/tmp/y", "table = \"x; DROP TABLE raw.a\"")));
        assertEquals("datasets.trips_y.table: 'x; DROP TABLE raw.a' is not a plain identifier", badTable.getMessage());
        assertThrows(KilnException.class, () -> TableName.parse("raw.flights; --"));
    }

    private static void deleteRecursively(Path p) {
        try (var walk = Files.walk(p)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
