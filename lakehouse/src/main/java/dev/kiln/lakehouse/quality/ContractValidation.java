package dev.kiln.lakehouse.quality;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.when;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.ingest.ColumnContract;
import dev.kiln.lakehouse.ingest.DatasetSpec;
import dev.kiln.lakehouse.ingest.DerivedColumn;
import dev.kiln.lakehouse.ingest.Expectation;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.BooleanType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.TimestampNTZType;
import org.apache.spark.sql.types.TimestampType;

/**
 * Checks every source row against a dataset's contract in one projection: types (a value that does not
 * convert exactly is refused, never silently truncated), nullability, keys, malformed records,
 * expectations and, in merge mode, duplicate keys within the batch. A failing row carries all its
 * reasons in {@code _reason}.
 */
public final class ContractValidation {
    /** Column the CSV and JSON readers put an unparseable line into. */
    public static final String CORRUPT_RECORD = "_corrupt_record";
    public static final String SOURCE_FILE = "_source_file";
    public static final String BATCH_ID = "_batch_id";
    public static final String INGESTED_AT = "_ingested_at";
    public static final String REASON = "_reason";
    public static final String RAW_RECORD = "_raw_record";

    /** The value range of an integral type (tinyint .. bigint), or null for any other type. */
    private static long[] integralRange(DataType t) {
        if (t instanceof org.apache.spark.sql.types.ByteType) {
            return new long[] {Byte.MIN_VALUE, Byte.MAX_VALUE};
        } else if (t instanceof org.apache.spark.sql.types.ShortType) {
            return new long[] {Short.MIN_VALUE, Short.MAX_VALUE};
        } else if (t instanceof org.apache.spark.sql.types.IntegerType) {
            return new long[] {Integer.MIN_VALUE, Integer.MAX_VALUE};
        } else if (t instanceof org.apache.spark.sql.types.LongType) {
            return new long[] {Long.MIN_VALUE, Long.MAX_VALUE};
        }
        return null;
    }

    /**
     * {@code try_cast} between integral types, written as a range check and a plain cast (which the RAPIDS
     * Accelerator runs; it has no form of try_cast): null where the value does not fit, else the same number.
     */
    private static Column integralCast(Column raw, DataType from, DataType to) {
        long[] source = integralRange(from);
        long[] target = integralRange(to);
        if (target[0] <= source[0] && source[1] <= target[1]) {
            return raw.cast(to);
        }
        return when(raw.between(lit(target[0]).cast(from), lit(target[1]).cast(from)), raw.cast(to));
    }

    private static final Set<String> INTERNAL = Set.of(CORRUPT_RECORD, SOURCE_FILE);

    private ContractValidation() {}

    /**
     * @param source raw source rows with their columns named as the table names them (each contract column's
     *               {@code source} already mapped to its name, undeclared columns in lower case), {@value #SOURCE_FILE}
     *               and, for text formats, {@value #CORRUPT_RECORD}
     */
    public static ValidatedBatch validate(DatasetSpec spec, Dataset<Row> source, String batchId, Timestamp ingestedAt) {
        requireNonNull(spec, "spec is null");
        requireNonNull(source, "source is null");
        Set<String> sourceColumns = new LinkedHashSet<>(List.of(source.columns()));
        List<String> missing = spec.columns().stream().map(ColumnContract::name)
                .filter(c -> !sourceColumns.contains(c)).toList();
        if (!missing.isEmpty()) {
            throw new KilnException("source of dataset '" + spec.name() + "' lacks contract column(s) " + missing
                    + " (source columns: " + visible(sourceColumns) + ")");
        }
        Set<String> contractNames = new LinkedHashSet<>();
        spec.columns().forEach(c -> contractNames.add(c.name()));
        List<String> extra = visible(sourceColumns).stream().filter(c -> !contractNames.contains(c)).toList();
        if (!extra.isEmpty() && !spec.allowNewColumns()) {
            throw new KilnException("source of dataset '" + spec.name() + "' has column(s) " + extra
                    + " that are not in its contract; declare them under datasets." + spec.name()
                    + ".schema, or accept them with datasets." + spec.name() + ".allow-new-columns = true"
                    + " (or --allow-new-columns)");
        }

        // First projection, over the source columns: typed values, raw text, and one flag per check.
        // Accepting a row needs only the flags; the reason texts are built for quarantined rows alone.
        List<Column> firstPass = new ArrayList<>();
        List<Check> checks = new ArrayList<>();
        if (sourceColumns.contains(CORRUPT_RECORD)) {
            checks.add(check(firstPass, checks.size(), col(CORRUPT_RECORD).isNotNull(), lit("malformed record")));
        }
        for (ColumnContract c : spec.columns()) {
            Column raw = col(c.name());
            DataType sourceType = source.schema().apply(c.name()).dataType();
            Column value = raw;
            if (!sourceType.equals(c.type())) {
                if (sourceType instanceof TimestampNTZType && c.type() instanceof TimestampType) {
                    requireUtcSession(spec, c, source);
                }
                // A zone-less source time (TIMESTAMP_NTZ, or text without an offset) becomes the instant of that
                // wall-clock time in UTC: exact, and checked below by converting back.
                boolean integral = integralRange(sourceType) != null && integralRange(c.type()) != null;
                value = integral ? integralCast(raw, sourceType, c.type()) : raw.try_cast(c.type());
                Column notExact = raw.isNotNull().and(value.isNull());
                if (!(sourceType instanceof StringType) && !integral) {
                    // e.g. 1.5 -> int 1: converts, but not back to the same value
                    notExact = notExact.or(value.isNotNull().and(not(value.try_cast(sourceType).eqNullSafe(raw))));
                }
                checks.add(check(firstPass, checks.size(), notExact, concat(lit("column '" + c.name() + "': value '"),
                        col("__raw_" + c.name()), lit("' is not a valid " + c.type().simpleString()))));
            }
            if (spec.keys().contains(c.name())) {
                checks.add(check(firstPass, checks.size(), raw.isNull(), lit("key column '" + c.name() + "' is null")));
            } else if (!c.nullable()) {
                checks.add(check(firstPass, checks.size(), raw.isNull(),
                        lit("column '" + c.name() + "' is null but the contract says not null")));
            }
            firstPass.add(value.as(c.name()));
        }
        for (String e : extra) {
            firstPass.add(col(e));
        }
        firstPass.add(col(SOURCE_FILE));
        for (String s : sourceColumns) {
            if (!s.equals(SOURCE_FILE)) {
                firstPass.add(col(s).cast(DataTypes.StringType).as("__raw_" + s));
            }
        }
        Column batch = lit(batchId).as(BATCH_ID);
        Column at = lit(ingestedAt).as(INGESTED_AT);
        Column file = col(SOURCE_FILE);
        Dataset<Row> rows = source.select(firstPass.toArray(Column[]::new));
        for (int i = 0; i < spec.derived().size(); i++) {
            DerivedColumn d = spec.derived().get(i);
            rows = analyzed(spec, "derived[" + i + "].expr", rows, d.name(), d.expr());
        }
        for (int i = 0; i < spec.expectations().size(); i++) {
            Expectation e = spec.expectations().get(i);
            String path = "expectations[" + i + "].expr";
            Dataset<Row> checked = analyzed(spec, path, rows, "__check", e.expr());
            DataType t = checked.schema().apply("__check").dataType();
            if (!(t instanceof BooleanType)) {
                throw new KilnException("datasets." + spec.name() + "." + path + ": '" + e.expr()
                        + "' is " + t.simpleString() + ", an expectation must be boolean");
            }
            // As a SQL CHECK constraint: only false fails, null passes.
            checks.add(new Check(coalesce(not(expr(e.expr())), lit(false)),
                    lit("expectation '" + e.name() + "' failed: " + e.expr())));
        }
        if (spec.writeMode() == DatasetSpec.WriteMode.MERGE) {
            Column[] keys = spec.keys().stream().map(k -> col(k)).toArray(Column[]::new);
            Column allKeys = lit(true);
            for (Column k : keys) {
                allKeys = allKeys.and(k.isNotNull());
            }
            rows = rows.withColumn("__key_rows", count(lit(1)).over(Window.partitionBy(keys)));
            checks.add(new Check(allKeys.and(col("__key_rows").gt(1)), concat(lit("duplicate key " + spec.keys()
                    + " within the batch ("), col("__key_rows").cast(DataTypes.StringType), lit(" rows)"))));
        }
        Column failed = lit(false);
        List<Column> reasons = new ArrayList<>();
        for (Check c : checks) {
            failed = failed.or(c.failed());
            reasons.add(when(c.failed(), c.message()));
        }

        List<Column> accepted = new ArrayList<>();
        for (StructField f : rows.schema().fields()) {
            if (!f.name().startsWith("__") && !INTERNAL.contains(f.name())) {
                accepted.add(col(f.name()));
            }
        }
        accepted.add(batch);
        accepted.add(at);
        accepted.add(file.as(SOURCE_FILE));

        List<Column> quarantined = new ArrayList<>();
        for (String s : sourceColumns) {
            if (!INTERNAL.contains(s)) {
                quarantined.add(col("__raw_" + s).as(s));
            }
        }
        quarantined.add(reasons.isEmpty() ? lit("").as(REASON) : concat_ws("; ", reasons.toArray(Column[]::new)).as(REASON));
        quarantined.add(sourceColumns.contains(CORRUPT_RECORD) ? col("__raw_" + CORRUPT_RECORD).as(RAW_RECORD)
                : lit(null).cast(DataTypes.StringType).as(RAW_RECORD));
        quarantined.add(batch);
        quarantined.add(at);
        quarantined.add(file.as(SOURCE_FILE));

        return new ValidatedBatch(
                rows.filter(not(failed)).select(accepted.toArray(Column[]::new)),
                rows.filter(failed).select(quarantined.toArray(Column[]::new)));
    }

    /** One check: a never-null flag that the row fails it, and the reason text for quarantined rows. */
    private record Check(Column failed, Column message) {}

    /** Adds the check's flag to the first projection (where the raw source values are still in scope). */
    private static Check check(List<Column> projection, int index, Column failed, Column message) {
        String name = "__failed_" + index;
        projection.add(coalesce(failed, lit(false)).as(name));
        return new Check(col(name), message);
    }

    private static Dataset<Row> analyzed(DatasetSpec spec, String path, Dataset<Row> rows, String name, String sql) {
        try {
            return rows.withColumn(name, expr(sql));
        } catch (Exception e) { // Spark's AnalysisException and ParseException are checked in Java's eyes
            throw new KilnException("datasets." + spec.name() + "." + path + ": cannot use '" + sql + "': "
                    + KilnException.firstLine(e.getMessage()), e);
        }
    }

    private static void requireUtcSession(DatasetSpec spec, ColumnContract c, Dataset<Row> source) {
        String zone = source.sparkSession().conf().get("spark.sql.session.timeZone");
        if (!java.util.Set.of("UTC", "Etc/UTC", "Z", "+00:00", "GMT").contains(zone)) {
            throw new KilnException("datasets." + spec.name() + ": column '" + c.name() + "' holds times without a zone"
                    + " and the contract stores them as timestamp, read as UTC; the session time zone is " + zone
                    + ", set spark.sql.session.timeZone=UTC (Kiln's default)");
        }
    }

    private static List<String> visible(Set<String> columns) {
        return columns.stream().filter(c -> !INTERNAL.contains(c)).toList();
    }
}
