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
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.zip.GZIPOutputStream;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

/**
 * Exports as they come: column names that are not identifiers (mapped with {@code source}), mixed case,
 * duplicate columns, header-only files, a byte-order mark, CRLF line endings, gzip, and a file that
 * changes while it is read. Each case either accounts for every row (read = written + quarantined) or
 * is refused with nothing written.
 */
class BadInputIngestionTest {
    private static final String HEADER = "id,ts,fare,city";

    private final Lakehouse lakehouse = TestLakehouse.get();

    private Ingestion ingestion(Consumer<String> progress) {
        return new Ingestion(lakehouse, progress);
    }

    private final Ingestion ingestion = ingestion(line -> { });

    /** id (int, not null), ts (timestamp), fare (decimal), city (string); event time ts. */
    private static DatasetSpec trips(String name, String format, Path path, String extra) {
        String hocon = "datasets." + name + " {\n"
                + "  source { format = " + format + ", path = \"" + path + "\" }\n"
                + "  schema = [ { name = id, type = int, nullable = false }, { name = ts, type = timestamp },"
                + "             { name = fare, type = \"decimal(8,2)\" }, { name = city, type = string } ]\n"
                + "  event-time = ts\n" + extra + "\n}\n";
        return TestLakehouse.config(hocon).dataset(name);
    }

    /** A flight-delay export whose headers are not identifiers: "Flight Id", "Dep Delay $", "Carrier". */
    private static DatasetSpec delays(String name, String format, Path path) {
        String hocon = "datasets." + name + " {\n"
                + "  source { format = " + format + ", path = \"" + path + "\" }\n"
                + "  schema = [ { name = flight_id, type = int, nullable = false, source = \"Flight Id\" },\n"
                + "             { name = dep_delay, type = int, source = \"DEP DELAY $\" },\n"
                + "             { name = carrier, type = string } ]\n"
                + "  event-time = flight_id\n}\n";
        return TestLakehouse.config(hocon).dataset(name);
    }

    private long count(String table) {
        return lakehouse.read(TableName.parse(table)).count();
    }

    private static void assertCounts(IngestResult r, long read, long written, long quarantined) {
        assertEquals(List.of(read, written, quarantined), List.of(r.rowsRead(), r.rowsWritten(), r.rowsQuarantined()),
                "rows read, written, quarantined");
    }

    private static void assertMentions(String message, String... parts) {
        for (String p : parts) {
            assertTrue(message.contains(p), "expected '" + p + "' in: " + message);
        }
    }

    // --- source-name mapping -------------------------------------------------------------------------------

    @Test
    void csvHeadersThatAreNotIdentifiersAreMappedToContractNamesIgnoringCase() {
        Path dir = TestLakehouse.tempDir("delays-csv");
        TestLakehouse.write(dir, "a.csv", "Flight Id,Dep Delay $,Carrier\n1,5,AA\n2,x,BA\n3,-2,aa\n");
        IngestResult r = ingestion.ingest(delays("delays_csv", "csv", dir), Optional.empty());

        assertCounts(r, 3, 2, 1);
        assertEquals(List.of("flight_id", "dep_delay", "carrier", "_batch_id", "_ingested_at", "_source_file"),
                Arrays.asList(lakehouse.read(TableName.parse("raw.delays_csv")).columns()));
        Row[] rows = (Row[]) lakehouse.spark().sql("SELECT flight_id, dep_delay, carrier FROM raw.delays_csv ORDER BY 1")
                .collect();
        assertEquals("[1,5,AA]", rows[0].toString());
        assertEquals("[3,-2,aa]", rows[1].toString());
        Row bad = lakehouse.spark().sql("SELECT flight_id, dep_delay, _reason FROM raw.delays_csv_quarantine").first();
        assertEquals("[2,x,column 'dep_delay': value 'x' is not a valid int]", bad.toString());
    }

    @Test
    void jsonKeysAreMappedLikeCsvHeadersIncludingMixedCase() {
        Path dir = TestLakehouse.tempDir("delays-json");
        TestLakehouse.write(dir, "a.json", "{\"Flight Id\": 1, \"Dep Delay $\": 5, \"Carrier\": \"AA\"}\n"
                + "{\"Flight Id\": 2, \"Dep Delay $\": \"x\", \"Carrier\": \"BA\"}\n");
        IngestResult r = ingestion.ingest(delays("delays_json", "json", dir), Optional.empty());

        assertCounts(r, 2, 1, 1);
        assertEquals("[1,5,AA]",
                lakehouse.spark().sql("SELECT flight_id, dep_delay, carrier FROM raw.delays_json").first().toString());
    }

    @Test
    void sourceNamesAreValidatedWhereTheConfigIsParsed() {
        String twice = "datasets.t2 { source { format = csv, path = \"/tmp/x\" }\n"
                + " schema = [ { name = a, type = int, source = \"Dep Delay\" }, { name = b, type = int, source = \"dep delay\" } ],"
                + " event-time = a }";
        ConfigException e = assertThrows(ConfigException.class, () -> TestLakehouse.config(twice));
        assertEquals("datasets.t2.schema[1].source: source column 'dep delay' is already mapped by schema[0]"
                + " (source names are matched ignoring case)", e.getMessage());

        String shadow = "datasets.t3 { source { format = csv, path = \"/tmp/x\" }\n"
                + " schema = [ { name = a, type = int }, { name = b, type = int, source = \"A\" } ], event-time = a }";
        ConfigException e2 = assertThrows(ConfigException.class, () -> TestLakehouse.config(shadow));
        assertEquals("datasets.t3.schema[1].source: source column 'A' is already mapped by schema[0]"
                + " (source names are matched ignoring case)", e2.getMessage());

        String blank = "datasets.t4 { source { format = csv, path = \"/tmp/x\" }\n"
                + " schema = [ { name = a, type = int, source = \" \" } ], event-time = a }";
        ConfigException e3 = assertThrows(ConfigException.class, () -> TestLakehouse.config(blank));
        assertEquals("datasets.t4.schema[0].source: must not be blank (it names the column in the source files)",
                e3.getMessage());
    }

    @Test
    void aMappedSourceColumnThatIsMissingIsRefusedNamingItsSourceName() {
        Path dir = TestLakehouse.tempDir("delays-missing");
        TestLakehouse.write(dir, "a.csv", "Flight Id,Dep Delay,Carrier\n1,5,AA\n");
        KilnException e = assertThrows(KilnException.class,
                () -> ingestion.ingest(delays("delays_missing", "csv", dir), Optional.empty()));
        assertMentions(e.getMessage(), "a.csv", "lacks contract column(s) [dep_delay (source 'DEP DELAY $')]",
                "datasets.delays_missing.schema[1].source");
        assertFalse(lakehouse.exists(TableName.parse("raw.delays_missing")));
    }

    // --- duplicate source columns --------------------------------------------------------------------------

    @Test
    void duplicateCsvHeadersAreRefusedNamingTheFile() {
        Path dir = TestLakehouse.tempDir("trips-dup");
        TestLakehouse.write(dir, "a.csv", "id,ts,fare,fare,city\n1,2024-01-01 08:00:00,1.00,2.00,Oslo\n");
        KilnException e = assertThrows(KilnException.class,
                () -> ingestion.ingest(trips("trips_dup", "csv", dir, ""), Optional.empty()));
        assertMentions(e.getMessage(), dir.resolve("a.csv").toString(), "columns 3 and 4 are both 'fare'",
                "give every column a distinct name");
        assertFalse(lakehouse.exists(TableName.parse("raw.trips_dup")));
    }

    @Test
    void csvHeadersThatDifferOnlyInCaseAreRefusedAsDuplicates() {
        Path dir = TestLakehouse.tempDir("trips-dupcase");
        TestLakehouse.write(dir, "a.csv", "id,ts,Fare,fare,city\n1,2024-01-01 08:00:00,1.00,2.00,Oslo\n");
        KilnException e = assertThrows(KilnException.class,
                () -> ingestion.ingest(trips("trips_dupcase", "csv", dir, ""), Optional.empty()));
        assertMentions(e.getMessage(), "a.csv", "columns 3 and 4 are both 'fare' (names are matched ignoring case:"
                + " 'Fare', 'fare')");
        assertFalse(lakehouse.exists(TableName.parse("raw.trips_dupcase")));
    }

    @Test
    void jsonKeysThatDifferOnlyInCaseAreRefused() {
        Path dir = TestLakehouse.tempDir("trips-jsoncase");
        TestLakehouse.write(dir, "a.json", "{\"id\": 1, \"ts\": \"2024-01-01 08:00:00\", \"fare\": 1.0, \"city\": \"Oslo\"}\n"
                + "{\"id\": 2, \"ts\": \"2024-01-01 09:00:00\", \"Fare\": 2.0, \"city\": \"Oslo\"}\n");
        KilnException e = assertThrows(KilnException.class,
                () -> ingestion.ingest(trips("trips_jsoncase", "json", dir, ""), Optional.empty()));
        assertMentions(e.getMessage(), "a.json", "'fare'", "ignoring case");
        assertFalse(lakehouse.exists(TableName.parse("raw.trips_jsoncase")));
    }

    @Test
    void filesOfOneBatchWithDifferentHeadersAreRefused() {
        Path dir = TestLakehouse.tempDir("trips-headers");
        TestLakehouse.write(dir, "a.csv", HEADER + "\n1,2024-01-01 08:00:00,1.00,Oslo\n");
        TestLakehouse.write(dir, "b.csv", "id,ts,city,fare\n2,2024-01-01 09:00:00,Oslo,2.00\n");
        KilnException e = assertThrows(KilnException.class,
                () -> ingestion.ingest(trips("trips_headers", "csv", dir, ""), Optional.empty()));
        assertMentions(e.getMessage(), "b.csv", "[id, ts, city, fare]", "a.csv", "[id, ts, fare, city]");
        assertFalse(lakehouse.exists(TableName.parse("raw.trips_headers")));
    }

    // --- header-only, BOM, CRLF, gzip ----------------------------------------------------------------------

    @Test
    void aHeaderOnlyFileIsRefusedNamingItButAddsNothingBesideFilesWithRows() {
        Path dir = TestLakehouse.tempDir("trips-headeronly");
        TestLakehouse.write(dir, "a.csv", HEADER + "\n\n");
        KilnException e = assertThrows(KilnException.class,
                () -> ingestion.ingest(trips("trips_headeronly", "csv", dir, ""), Optional.empty()));
        assertMentions(e.getMessage(), dir.resolve("a.csv").toString(), "holds a header but no rows", "nothing was written");
        assertFalse(lakehouse.exists(TableName.parse("raw.trips_headeronly")));

        TestLakehouse.write(dir, "b.csv", HEADER + "\n1,2024-01-01 08:00:00,1.00,Oslo\n2,2024-01-01 09:00:00,-,Oslo\n");
        IngestResult r = ingestion.ingest(trips("trips_headeronly", "csv", dir, ""), Optional.empty());
        assertCounts(r, 2, 1, 1);
    }

    @Test
    void aByteOrderMarkAndWindowsLineEndingsReadLikePlainFiles() {
        Path dir = TestLakehouse.tempDir("trips-bom");
        String body = HEADER + "\r\n1,2024-01-01 08:00:00,1.00,Oslo\r\n2,2024-01-01 09:00:00,abc,Bergen\r\n3,2024-01-01 10:00:00,3.00,Oslo\r\n";
        writeBytes(dir.resolve("a.csv"), bom(body));
        IngestResult r = ingestion.ingest(trips("trips_bom", "csv", dir, ""), Optional.empty());
        assertCounts(r, 3, 2, 1);
        Row[] cities = (Row[]) lakehouse.spark().sql("SELECT DISTINCT city, length(city) FROM raw.trips_bom").collect();
        assertEquals("[Oslo,4]", cities[0].toString(), "no carriage return left in the last column");

        Path jdir = TestLakehouse.tempDir("trips-bom-json");
        writeBytes(jdir.resolve("a.json"), bom("{\"id\": 1, \"ts\": \"2024-01-01 08:00:00\", \"fare\": 1.0, \"city\": \"Oslo\"}\r\n"
                + "{\"id\": 2, \"ts\": \"2024-01-01 09:00:00\", \"fare\": 2.0, \"city\": \"Oslo\"}\r\n"));
        IngestResult j = ingestion.ingest(trips("trips_bom_json", "json", jdir, ""), Optional.empty());
        assertCounts(j, 2, 2, 0);
        assertEquals(1L, lakehouse.spark().sql("SELECT count(*) FROM raw.trips_bom_json WHERE id = 1").first().getLong(0));
    }

    @Test
    void gzipFilesAreReadByTheirExtension() {
        Path dir = TestLakehouse.tempDir("trips-gz");
        gzip(dir.resolve("a.csv.gz"), HEADER + "\n1,2024-01-01 08:00:00,1.00,Oslo\n2,2024-01-01 09:00:00,-1x,Oslo\n");
        IngestResult r = ingestion.ingest(trips("trips_gz", "csv", dir, ""), Optional.empty());
        assertCounts(r, 2, 1, 1);

        Path jdir = TestLakehouse.tempDir("trips-gz-json");
        gzip(jdir.resolve("a.json.gz"), "{\"Id\": 1, \"ts\": \"2024-01-01 08:00:00\", \"fare\": 1.0, \"city\": \"Oslo\"}\n"
                + "{\"Id\": 2, \"ts\": \"2024-01-01 09:00:00\", \"fare\": 2.0, \"city\": \"Oslo\"}\n{oops\n");
        IngestResult j = ingestion.ingest(trips("trips_gz_json", "json", jdir, ""), Optional.empty());
        assertCounts(j, 3, 2, 1);

        Path bad = TestLakehouse.tempDir("trips-gz-bad");
        TestLakehouse.write(bad, "a.csv.gz", HEADER + "\n1,2024-01-01 08:00:00,1.00,Oslo\n");
        KilnException e = assertThrows(KilnException.class,
                () -> ingestion.ingest(trips("trips_gz_bad", "csv", bad, ""), Optional.empty()));
        assertMentions(e.getMessage(), "a.csv.gz", "gzip");
        assertFalse(lakehouse.exists(TableName.parse("raw.trips_gz_bad")));
    }

    // --- a file that changes while it is read ---------------------------------------------------------------

    @Test
    void aFileThatGrowsWhileItIsReadIsRefusedAndARerunIngestsItWhole() {
        Path dir = TestLakehouse.tempDir("trips-growing");
        Path file = TestLakehouse.write(dir, "a.csv", HEADER + "\n1,2024-01-01 08:00:00,1.00,Oslo\n2,2024-01-01 09:00:00,-1.00,Oslo\n");
        // The export is still being written: one more line lands after Kiln has read the rows.
        Consumer<String> appendOnce = line -> {
            if (line.contains("rows to check") && lineCount(file) == 3) {
                append(file, "3,2024-01-01 10:00:00,3.00,Oslo\n");
            }
        };
        DatasetSpec spec = trips("trips_growing", "csv", dir, "expectations = [ { name = fare_ok, expr = \"fare >= 0\" } ]");
        KilnException e = assertThrows(KilnException.class, () -> ingestion(appendOnce).ingest(spec, Optional.empty()));
        assertMentions(e.getMessage(), file.toString(), "changed while it was read", "nothing was written");
        assertFalse(lakehouse.exists(TableName.parse("raw.trips_growing")));
        assertFalse(lakehouse.exists(TableName.parse("raw.trips_growing_quarantine")));

        IngestResult r = ingestion.ingest(spec, Optional.empty());
        assertCounts(r, 3, 2, 1);
        assertEquals(2, count("raw.trips_growing"));
        assertEquals(1, count("raw.trips_growing_quarantine"));
    }

    @Test
    void aFileRewrittenInPlaceWithTheSameSizeIsRefusedByItsModificationTime() throws IOException {
        Path dir = TestLakehouse.tempDir("trips-rewritten");
        Path file = TestLakehouse.write(dir, "a.json", "{\"id\": 1, \"ts\": \"2024-01-01 08:00:00\", \"fare\": 1.0, \"city\": \"Oslo\"}\n");
        long modified = Files.getLastModifiedTime(file).toMillis();
        Consumer<String> rewrite = line -> {
            if (line.contains("rows to check")) {
                TestLakehouse.write(dir, "a.json", "{\"id\": 9, \"ts\": \"2024-01-01 08:00:00\", \"fare\": 1.0, \"city\": \"Oslo\"}\n");
                assertTrue(file.toFile().setLastModified(modified + 5_000));
            }
        };
        KilnException e = assertThrows(KilnException.class,
                () -> ingestion(rewrite).ingest(trips("trips_rewritten", "json", dir, ""), Optional.empty()));
        assertMentions(e.getMessage(), file.toString(), "changed while it was read");
        assertFalse(lakehouse.exists(TableName.parse("raw.trips_rewritten")));
    }

    private static byte[] bom(String text) {
        byte[] body = text.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[body.length + 3];
        out[0] = (byte) 0xEF;
        out[1] = (byte) 0xBB;
        out[2] = (byte) 0xBF;
        System.arraycopy(body, 0, out, 3, body.length);
        return out;
    }

    private static void writeBytes(Path file, byte[] bytes) {
        try {
            Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void gzip(Path file, String text) {
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void append(Path file, String text) {
        try {
            Files.writeString(file, text, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long lineCount(Path file) {
        try {
            return Files.readAllLines(file).size();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
