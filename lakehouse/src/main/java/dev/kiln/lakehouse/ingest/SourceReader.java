package dev.kiln.lakehouse.ingest;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.input_file_name;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.when;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Identifiers;
import dev.kiln.lakehouse.quality.ContractValidation;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.Charset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.compress.CompressionCodec;
import org.apache.hadoop.io.compress.CompressionCodecFactory;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Reads one batch's files as rows named by the contract: each source column (CSV header, JSON key, Parquet
 * column) goes to the contract column whose {@code source} it matches ignoring case, and undeclared source
 * columns keep their own name in lower case. CSV and JSON values are read as text (the contract types them).
 *
 * <p>Refused before anything is read into Spark: two source columns of one file whose names match ignoring
 * case, CSV files of one batch with different headers, a batch whose CSV files hold headers but no rows,
 * a contract column no source column maps to, and an undeclared source column that is not an identifier.
 * Compressed files ({@code .gz}, {@code .bz2}, ...) are read through Hadoop's codec for their extension;
 * a UTF-8 byte-order mark before a CSV header is dropped; CRLF, LF and CR all end a line.
 */
final class SourceReader {
    private static final char BOM = '\uFEFF';

    private SourceReader() {}

    /**
     * Parquet columns of zone-less times (TIMESTAMP_NTZ) that the contract stores as timestamp are read as
     * TIMESTAMP: Parquet keeps both as microseconds from the epoch, so the file's wall-clock time becomes that
     * instant in UTC, exactly and whatever the session's zone; the scan then has no TIMESTAMP_NTZ in it.
     * {@code sources} maps each source column to the contract column it feeds.
     */
    private static Dataset<Row> utcTimes(org.apache.spark.sql.DataFrameReader reader, DatasetSpec spec, Dataset<Row> df,
            String[] paths, Map<String, String> sources) {
        StructType schema = new StructType();
        boolean changed = false;
        for (StructField f : df.schema().fields()) {
            String target = sources.get(f.name());
            boolean toUtc = f.dataType() instanceof org.apache.spark.sql.types.TimestampNTZType && target != null
                    && spec.columns().stream().anyMatch(c -> c.name().equals(target) && c.type().equals(DataTypes.TimestampType));
            schema = schema.add(toUtc ? new StructField(f.name(), DataTypes.TimestampType, f.nullable(), f.metadata()) : f);
            changed |= toUtc;
        }
        return changed ? reader.schema(schema).parquet(paths) : df;
    }

    static Dataset<Row> read(SparkSession spark, DatasetSpec spec, SourceFiles files) {
        String[] paths = files.paths().toArray(String[]::new);
        Dataset<Row> df;
        List<Column> cols = new ArrayList<>();
        try {
            switch (spec.format()) {
                case "parquet" -> {
                    org.apache.spark.sql.DataFrameReader reader = spark.read().options(spec.options());
                    df = reader.parquet(paths);
                    Mapping m = Mapping.of(spec, List.of(df.columns()), describe(files), false);
                    df = utcTimes(reader, spec, df, paths, m.sources());
                    m.sources().forEach((source, target) -> cols.add(col(quoted(source)).as(target)));
                }
                case "csv" -> {
                    Map<String, String> opts = new HashMap<>(spec.options());
                    opts.putIfAbsent("header", "true");
                    List<String> header = Boolean.parseBoolean(opts.get("header"))
                            ? csvHeader(spark, spec, files, opts)
                            : List.of(spark.read().options(opts).option("inferSchema", "false").csv(paths).columns());
                    Mapping m = Mapping.of(spec, header, describe(files), false);
                    // The reader takes columns by position (enforceSchema): named here as the table names them.
                    StructType text = new StructType();
                    for (String target : m.sources().values()) {
                        text = text.add(target, DataTypes.StringType, true);
                    }
                    text = text.add(ContractValidation.CORRUPT_RECORD, DataTypes.StringType, true);
                    df = spark.read().options(opts).schema(text)
                            .option("mode", "PERMISSIVE").option("enforceSchema", "true")
                            .option("columnNameOfCorruptRecord", ContractValidation.CORRUPT_RECORD)
                            .csv(paths);
                    for (String c : df.columns()) {
                        cols.add(col(quoted(c)));
                    }
                }
                case "json" -> {
                    List<String> keys = jsonKeys(spark, spec, files, paths);
                    Mapping m = Mapping.of(spec, keys, describe(files), true);
                    StructType text = new StructType();
                    for (String source : m.sources().keySet()) {
                        text = text.add(source, DataTypes.StringType, true);
                    }
                    text = text.add(ContractValidation.CORRUPT_RECORD, DataTypes.StringType, true);
                    df = spark.read().options(spec.options()).schema(text)
                            .option("mode", "PERMISSIVE")
                            .option("columnNameOfCorruptRecord", ContractValidation.CORRUPT_RECORD)
                            .json(paths);
                    m.sources().forEach((source, target) -> cols.add(col(quoted(source)).as(target)));
                    // A JSON record may leave a key out (a null); a nullable column no record of the batch has reads as null.
                    for (ColumnContract c : m.absent()) {
                        cols.add(lit(null).cast(DataTypes.StringType).as(c.name()));
                    }
                    cols.add(col(ContractValidation.CORRUPT_RECORD));
                }
                default -> throw new KilnException("unsupported source format '" + spec.format() + "'");
            }
        } catch (KilnException e) {
            throw e;
        } catch (Exception e) {
            throw new KilnException("cannot read the source files of dataset '" + spec.name() + "': "
                    + Ingestion.rootMessage(e), e);
        }
        // One file (the common case for a daily drop) needs no per-row file name from the reader.
        cols.add((files.files().size() == 1 ? lit(files.sourceFileName(0)) : fileName()).as(ContractValidation.SOURCE_FILE));
        return df.select(cols.toArray(Column[]::new));
    }

    /**
     * The row's file as {@link SourceFiles#sourceFileName} writes it ({@code file:/x} for a local file). Taken from
     * {@code input_file_name()}, which the RAPIDS Accelerator's scans provide, rather than the scan's hidden
     * {@code _metadata} column, which keeps a scan off the GPU; it writes a local file {@code file:///x}.
     */
    private static Column fileName() {
        Column file = input_file_name();
        return when(file.startsWith("file:///"), concat(lit("file:/"), file.substr(9, Integer.MAX_VALUE))).otherwise(file);
    }

    /** Back-quotes any source name for Spark's column parser (a back-quote inside is doubled). */
    private static String quoted(String name) {
        return "`" + name.replace("`", "``") + "`";
    }

    private static String describe(SourceFiles files) {
        List<String> paths = files.paths();
        return paths.size() == 1 ? "source file " + paths.get(0)
                : "source files " + String.join(", ", paths.subList(0, Math.min(paths.size(), 5)))
                        + (paths.size() > 5 ? " (and " + (paths.size() - 5) + " more)" : "");
    }

    /**
     * Every file's header, read here rather than by Spark (which takes the first file's header for all and
     * renames duplicates): all files must share one header, and at least one must hold a row.
     */
    private static List<String> csvHeader(SparkSession spark, DatasetSpec spec, SourceFiles files, Map<String, String> opts) {
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        Charset charset = Charset.forName(opts.getOrDefault("encoding", opts.getOrDefault("charset", "UTF-8")));
        Map<String, List<String>> parsed = new HashMap<>();
        List<String> first = null;
        String firstFile = null;
        List<String> headerOnly = new ArrayList<>();
        for (FileStatus f : files.files()) {
            HeadLines head = headLines(f.getPath(), conf, charset);
            List<String> header = parsed.computeIfAbsent(head.header(), line -> parseCsvLine(spark, opts, line));
            String file = f.getPath().toString();
            Mapping.requireDistinct(header, "source file " + file);
            if (first == null) {
                first = header;
                firstFile = file;
            } else if (!keys(first).equals(keys(header))) {
                throw new KilnException("source file " + file + " has the header " + header + " but " + firstFile
                        + " has " + first + "; files of one batch must share one header (columns are matched by name"
                        + " ignoring case, in the same order): ingest them as separate batches");
            }
            if (!head.hasRow()) {
                headerOnly.add(file);
            }
        }
        if (headerOnly.size() == files.files().size()) {
            throw new KilnException("the source files of dataset '" + spec.name() + "' hold no rows: "
                    + String.join(", ", headerOnly) + (headerOnly.size() == 1 ? " holds" : " hold")
                    + " a header but no rows; nothing was written (an export still being written? re-run once it is complete)");
        }
        return first;
    }

    private static List<String> keys(List<String> names) {
        return names.stream().map(ColumnContract::sourceKey).toList();
    }

    /** A CSV file's first line (without a byte-order mark) and whether a non-blank line follows it. */
    private record HeadLines(String header, boolean hasRow) {}

    private static HeadLines headLines(Path path, Configuration conf, Charset charset) {
        try {
            InputStream raw = path.getFileSystem(conf).open(path);
            CompressionCodec codec = new CompressionCodecFactory(conf).getCodec(path);
            InputStream in = codec == null ? raw : codec.createInputStream(raw);
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, charset))) {
                String header = reader.readLine();
                if (header == null) {
                    throw new KilnException("source file " + path + " holds no lines; nothing was written");
                }
                if (!header.isEmpty() && header.charAt(0) == BOM) {
                    header = header.substring(1);
                }
                String line;
                while ((line = reader.readLine()) != null) {
                    if (!line.isBlank()) {
                        return new HeadLines(header, true);
                    }
                }
                return new HeadLines(header, false);
            }
        } catch (IOException e) {
            throw new KilnException("cannot read source file " + path + ": " + e.getMessage()
                    + (path.getName().endsWith(".gz") ? " (the name ends in .gz: is it gzip-compressed?)" : "")
                    + "; nothing was written", e);
        }
    }

    /** Splits a header line with the dataset's own CSV options (separator, quote, escape). */
    private static List<String> parseCsvLine(SparkSession spark, Map<String, String> opts, String line) {
        Map<String, String> lineOpts = new HashMap<>(opts);
        lineOpts.put("header", "false");
        lineOpts.put("inferSchema", "false");
        lineOpts.remove("multiLine");
        Row row = spark.read().options(lineOpts).csv(spark.createDataset(List.of(line), Encoders.STRING())).first();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < row.length(); i++) {
            // Spark names a blank header field _c<index>; so does Kiln.
            names.add(row.isNullAt(i) || row.getString(i).isBlank() ? "_c" + i : row.getString(i));
        }
        return names;
    }

    /** The top-level keys of the batch's JSON records, from Spark's schema inference (one pass). */
    private static List<String> jsonKeys(SparkSession spark, DatasetSpec spec, SourceFiles files, String[] paths) {
        StructType inferred;
        try {
            inferred = spark.read().options(spec.options()).json(paths).schema();
        } catch (Exception e) { // AnalysisException is checked in Java's eyes
            String message = Ingestion.rootMessage(e);
            if (message.contains("COLUMN_ALREADY_EXISTS")) {
                throw new KilnException(describe(files) + ": JSON records of this batch hold a key twice ("
                        + message.replaceAll(".*The column (`[^`]*`).*", "$1") + "; keys are matched ignoring case, so"
                        + " 'Fare' and 'fare' are the same column); nothing was written. Fix the export so that"
                        + " every key is distinct ignoring case", e);
            }
            throw new KilnException("cannot read the source files of dataset '" + spec.name() + "': " + message, e);
        }
        List<String> keys = new ArrayList<>();
        for (StructField f : inferred.fields()) {
            if (!f.name().equals(ContractValidation.CORRUPT_RECORD)) {
                keys.add(f.name());
            }
        }
        return keys;
    }

    /**
     * Where each source column goes.
     *
     * @param sources source name -> table column name, in source order
     * @param absent  nullable contract columns that no source column maps to (JSON only; read as null)
     */
    private record Mapping(Map<String, String> sources, List<ColumnContract> absent) {

        static Mapping of(DatasetSpec spec, List<String> sourceColumns, String where, boolean json) {
            requireDistinct(sourceColumns, where);
            Map<String, String> sources = new LinkedHashMap<>();
            List<ColumnContract> absent = new ArrayList<>();
            List<String> missing = new ArrayList<>();
            List<String> missingPaths = new ArrayList<>();
            for (int i = 0; i < spec.columns().size(); i++) {
                ColumnContract c = spec.columns().get(i);
                if (sourceColumns.stream().noneMatch(c::readsFrom)) {
                    // JSON: no key at all means every line is malformed (quarantined as such, not refused).
                    if (json && (sourceColumns.isEmpty() || (c.nullable() && !spec.keys().contains(c.name())))) {
                        absent.add(c);
                    } else {
                        missing.add(c.source().equals(c.name()) ? c.name() : c.name() + " (source '" + c.source() + "')");
                        missingPaths.add("datasets." + spec.name() + ".schema[" + i + "]"
                                + (c.source().equals(c.name()) ? ".name" : ".source"));
                    }
                }
            }
            if (!missing.isEmpty()) {
                throw new KilnException(where + " of dataset '" + spec.name() + "' lacks contract column(s) " + missing
                        + " (source columns: " + sourceColumns + "); nothing was written. Map each to its name in the"
                        + " source with " + String.join(", ", missingPaths) + " (e.g. source = \"Dep Delay $\"; names"
                        + " are matched ignoring case)");
            }
            for (String s : sourceColumns) {
                String target = spec.columns().stream().filter(c -> c.readsFrom(s)).map(ColumnContract::name)
                        .findFirst().orElse(null);
                if (target == null) {
                    target = s.toLowerCase(Locale.ROOT);
                    if (spec.column(target).isPresent()) {
                        throw new KilnException(where + " has a column '" + s + "' that is not mapped to contract column '"
                                + target + "' (which reads '" + spec.column(target).get().source() + "'); nothing was"
                                + " written. Rename or drop one of them in the export");
                    }
                    if (spec.allowNewColumns() && !Identifiers.isPlain(s)) {
                        throw new KilnException(where + " has the undeclared column '" + s + "', which is not an"
                                + " identifier and so cannot be a table column; nothing was written. Declare it under"
                                + " datasets." + spec.name() + ".schema with a name and source = \"" + s + "\"");
                    }
                }
                sources.put(s, target);
            }
            return new Mapping(sources, absent);
        }

        /** Refuses two source columns whose names match ignoring case. */
        static void requireDistinct(List<String> names, String where) {
            Map<String, Integer> seen = new HashMap<>();
            for (int i = 0; i < names.size(); i++) {
                Integer before = seen.putIfAbsent(ColumnContract.sourceKey(names.get(i)), i);
                if (before != null) {
                    String a = names.get(before);
                    String b = names.get(i);
                    throw new KilnException(where + ": columns " + (before + 1) + " and " + (i + 1) + " are both '"
                            + ColumnContract.sourceKey(b) + "'" + (a.equals(b) ? "" : " (names are matched ignoring case: '"
                            + a + "', '" + b + "')") + "; nothing was written. Fix the export's header: give every"
                            + " column a distinct name");
                }
            }
        }
    }
}
