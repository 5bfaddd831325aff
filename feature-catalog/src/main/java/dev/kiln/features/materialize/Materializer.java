package dev.kiln.features.materialize;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.greatest;
import static org.apache.spark.sql.functions.lag;
import static org.apache.spark.sql.functions.lead;
import static org.apache.spark.sql.functions.least;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.sequence;
import static org.apache.spark.sql.functions.sqrt;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import dev.kiln.features.catalog.FeatureCatalog;
import dev.kiln.features.definition.FeatureSetSpec;
import dev.kiln.features.definition.FeatureSpec;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import dev.kiln.lakehouse.commit.Commit;
import dev.kiln.lakehouse.commit.Predicate;
import dev.kiln.lakehouse.fault.CrashPoint;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.expressions.WindowSpec;
import org.apache.spark.sql.types.DataTypes;

/**
 * Materializes a feature set version into {@code features.<set>__v<version>}: one row per entity per
 * period, holding each feature's value as of the end of that period, partitioned by {@code period_date}.
 * All features of a set are computed in one plan: per-period partial aggregates, then trailing windows
 * over every period of each entity's active span.
 *
 * <p>Commit semantics: {@link #materialize} appends only periods after the last materialized one (up to
 * the last period in the source), reading just the history the longest window needs; its commit carries
 * an idempotent-write id for that period range, so a re-run writes nothing. {@link #backfill} replaces a
 * date range in one commit ({@code replaceWhere}), so re-running it leaves the same rows. Both refuse to
 * write when the set's definition changed without a version bump. The catalog rows come after the table's
 * commit: a run killed in between is completed by re-running it (materialize finds no new period and records the
 * catalog rows that are missing; backfill writes its range again).
 */
public final class Materializer {
    static final String PERIOD_INDEX = "__period";
    public static final String PERIOD_START = "period_start";
    public static final String PERIOD_END = "period_end";
    public static final String PERIOD_DATE = "period_date";
    static final String DEFINITION_HASH = "_definition_hash";
    static final String MATERIALIZED_AT = "_materialized_at";

    private final Lakehouse lakehouse;
    private final FeatureCatalog catalog;
    private final Consumer<String> progress;

    public Materializer(Lakehouse lakehouse, Consumer<String> progress) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
        this.catalog = new FeatureCatalog(lakehouse);
        this.progress = requireNonNull(progress, "progress is null");
    }

    /** Computes the periods not materialized yet. */
    public MaterializedVersion materialize(FeatureSetSpec spec) {
        catalog.requireSameDefinition(spec);
        Dataset<Row> source = source(spec);
        Row bounds = source.agg(min(PERIOD_INDEX), max(PERIOD_INDEX)).first();
        if (bounds.isNullAt(0)) {
            throw new KilnException("the source of feature set '" + spec.name() + "' (" + spec.sourceDescription()
                    + ") has no rows with an event time");
        }
        long sourceFirst = bounds.getLong(0);
        long sourceLast = bounds.getLong(1);
        TableName table = spec.tableName();
        long from = sourceFirst;
        if (lakehouse.exists(table)) {
            Row done = lakehouse.read(table).agg(max(PERIOD_START)).first();
            if (!done.isNullAt(0)) {
                from = spec.grain().index(dev.kiln.lakehouse.EventTime.utcWallClock(done.get(0))) + 1;
            }
        }
        if (from > sourceLast) {
            MaterializedVersion nothingNew = new MaterializedVersion(spec.name(), spec.version(), table, spec.definitionHash(),
                    Optional.empty(), Optional.empty(), 0, sourceVersion(spec));
            // A run killed between the table's commit and the catalog's left the periods without their catalog rows.
            if (lakehouse.exists(table) && catalog.definition(spec.name(), spec.version()).isEmpty()) {
                catalog.record(spec, nothingNew);
            }
            return nothingNew;
        }
        return write(spec, source, from, sourceLast, false);
    }

    /** The plan of a full materialization of the set, not run (for plan reports). */
    public Dataset<Row> plan(FeatureSetSpec spec) {
        return compute(spec, source(spec), 0, Integer.MAX_VALUE);
    }

    /** Recomputes every period whose start falls on a date in {@code [from, to]}, replacing what was there. */
    public MaterializedVersion backfill(FeatureSetSpec spec, LocalDate from, LocalDate to) {
        if (to.isBefore(from)) {
            throw new KilnException("backfill range is empty: --to " + to + " is before --from " + from);
        }
        catalog.requireSameDefinition(spec);
        long perDay = 24 / spec.grain().hours();
        long first = from.toEpochDay() * perDay;
        long last = (to.toEpochDay() + 1) * perDay - 1;
        return write(spec, source(spec), first, last, true);
    }

    private MaterializedVersion write(FeatureSetSpec spec, Dataset<Row> source, long from, long to, boolean replace) {
        TableName table = spec.tableName();
        progress.accept(String.format("features %s v%d: computing periods %s .. %s", spec.name(), spec.version(),
                periodStart(spec, from), periodStart(spec, to)));
        Optional<Long> sourceVersion = sourceVersion(spec);
        Dataset<Row> rows = compute(spec, source, from, to)
                .withColumn(DEFINITION_HASH, lit(spec.definitionHash()))
                .withColumn(MATERIALIZED_AT, lit(Timestamp.from(Instant.now())));
        if (lakehouse.exists(table) && lakehouse.read(table).schema().apply(PERIOD_START).dataType()
                instanceof org.apache.spark.sql.types.TimestampNTZType) {
            // A version materialized before periods were TIMESTAMP keeps its TIMESTAMP_NTZ columns: the same values, as UTC.
            rows = rows.withColumn(PERIOD_START, col(PERIOD_START).cast(DataTypes.TimestampNTZType))
                    .withColumn(PERIOD_END, col(PERIOD_END).cast(DataTypes.TimestampNTZType));
        }
        lakehouse.createIfMissing(table, rows.schema(), List.of(PERIOD_DATE),
                "Feature set " + spec.name() + " v" + spec.version() + ": " + spec.description(),
                Map.of("delta.dataSkippingNumIndexedCols", String.valueOf(spec.entity().size())));
        Commit commit;
        try {
            commit = replace
                    // Dates computed here, rendered as typed literals by the commit path.
                    ? lakehouse.commits().replace(table, rows, Predicate.between(PERIOD_DATE,
                            periodStart(spec, from).toLocalDate(), periodStart(spec, to).toLocalDate())).commit()
                    : lakehouse.commits().append(table, rows)
                            .idempotent("kiln-features:" + table + ":" + from + "-" + to, 0).commit();
        } catch (KilnException e) {
            throw e;
        } catch (Exception e) { // Spark's checked exceptions arrive undeclared
            throw new KilnException("materializing feature set '" + spec.name() + "' failed: " + e.getMessage(), e);
        }
        long written = commit.metric("numOutputRows");
        MaterializedVersion result = new MaterializedVersion(spec.name(), spec.version(), table, spec.definitionHash(),
                Optional.of(periodStart(spec, from)), Optional.of(periodStart(spec, to)), written, sourceVersion);
        CrashPoint.reached(replace ? CrashPoint.BACKFILL_AFTER_TABLE_COMMIT : CrashPoint.MATERIALIZE_AFTER_TABLE_COMMIT);
        catalog.record(spec, result);
        return result;
    }

    /** Source rows with entity keys and the period index of their event time; rows without either are left out. */
    private Dataset<Row> source(FeatureSetSpec spec) {
        SparkSession spark = lakehouse.spark();
        Dataset<Row> df;
        try {
            df = spec.source().isPresent() ? lakehouse.read(spec.source().get()) : spark.sql(spec.input().asSql());
        } catch (KilnException e) {
            throw new KilnException("source of feature set '" + spec.name() + "': " + e.getMessage(), e);
        } catch (Exception e) {
            throw new KilnException("source query of feature set '" + spec.name() + "' failed: " + KilnException.firstLine(e.getMessage()), e);
        }
        List<String> columns = List.of(df.columns());
        for (String c : spec.entity()) {
            if (!columns.contains(c)) {
                throw new KilnException("feature-sets." + spec.name() + ".entity: column '" + c + "' is not in "
                        + spec.sourceDescription() + " (columns: " + columns + ")");
            }
        }
        if (!columns.contains(spec.eventTime())) {
            throw new KilnException("feature-sets." + spec.name() + ".event-time: column '" + spec.eventTime()
                    + "' is not in " + spec.sourceDescription() + " (columns: " + columns + ")");
        }
        String type = df.schema().apply(spec.eventTime()).dataType().typeName();
        if (!type.startsWith("timestamp") && !type.equals("date")) {
            throw new KilnException("feature-sets." + spec.name() + ".event-time: column '" + spec.eventTime()
                    + "' is " + type + ", expected a timestamp or date");
        }
        Column ts = col(spec.eventTime());
        Column index = spec.grain().index(ts);
        Column keysPresent = lit(true);
        for (String c : spec.entity()) {
            keysPresent = keysPresent.and(col(c).isNotNull());
        }
        return df.filter(ts.isNotNull().and(keysPresent)).withColumn(PERIOD_INDEX, index);
    }

    /** One plan for every feature of the set, for periods {@code [from, to]}. */
    Dataset<Row> compute(FeatureSetSpec spec, Dataset<Row> source, long from, long to) {
        long lookback = spec.longestWindow() - 1;
        Dataset<Row> history = source.filter(col(PERIOD_INDEX).between(from - lookback, to));

        // 1. Partial aggregates per entity and period, each measure once however many features use it.
        Measures measures = new Measures();
        Map<String, java.util.SortedSet<Integer>> distinctWindows = new LinkedHashMap<>();
        measures.aggregate("rows", null, count(lit(1)));
        for (FeatureSpec f : spec.features()) {
            String x = f.aggregation().argument().orElse(null);
            switch (f.aggregation().kind()) {
                case COUNT -> { }
                case SUM, AVG -> {
                    measures.aggregate("sum", x, sum(expr(x).cast(DataTypes.DoubleType)));
                    measures.aggregate("n", x, count(expr(x)));
                }
                case MIN -> measures.aggregate("min", x, min(expr(x)));
                case MAX -> measures.aggregate("max", x, max(expr(x)));
                case STDDEV -> {
                    measures.aggregate("sum", x, sum(expr(x).cast(DataTypes.DoubleType)));
                    measures.aggregate("sumsq", x, sum(expr(x).cast(DataTypes.DoubleType).multiply(expr(x).cast(DataTypes.DoubleType))));
                    measures.aggregate("n", x, count(expr(x)));
                }
                case RATE -> {
                    measures.aggregate("true", x, sum(when(expr(x), 1L).otherwise(0L)));
                    measures.aggregate("n", x, count(expr(x)));
                }
                case APPROX_DISTINCT -> distinctWindows.computeIfAbsent(x, k -> new java.util.TreeSet<>()).add(f.windowPeriods());
            }
        }
        List<Column> aggs = measures.aggregates();
        Column[] entity = spec.entity().stream().map(c -> col(c)).toArray(Column[]::new);
        List<Column> groupBy = new ArrayList<>(List.of(entity));
        groupBy.add(col(PERIOD_INDEX));
        Dataset<Row> partials;
        try {
            partials = history.groupBy(groupBy.toArray(Column[]::new))
                    .agg(aggs.get(0), aggs.subList(1, aggs.size()).toArray(Column[]::new));
            List<String> joinKeys = new ArrayList<>(spec.entity());
            joinKeys.add(PERIOD_INDEX);
            for (Map.Entry<String, java.util.SortedSet<Integer>> d : distinctWindows.entrySet()) {
                // Values are only counted where they occur, so every period of these measures is one of the partials'.
                partials = partials.join(episodeEnds(history, entity, d.getKey(), d.getValue(), measures),
                        joinKeys.toArray(String[]::new), "left");
            }
        } catch (Exception e) { // AnalysisException: a feature's expression does not fit the source
            throw new KilnException("feature set '" + spec.name() + "': " + KilnException.firstLine(e.getMessage()), e);
        }

        // 2. Every period from the entity's first activity on, each once, without a grid join: an active period
        //    stands for itself and the quiet periods after it, up to the entity's next active period, or, after
        //    its last one, until its longest window has emptied (never past `to`). Its measures go to its own
        //    period only. Partitioned by entity here, the trailing windows below need no further shuffle.
        WindowSpec byEntity = Window.partitionBy(entity).orderBy(col(PERIOD_INDEX));
        Column until = least(coalesce(lead(col(PERIOD_INDEX), 1).over(byEntity).minus(1),
                col(PERIOD_INDEX).plus(lookback)), lit(to));
        List<Column> spanCols = new ArrayList<>(List.of(entity));
        spanCols.add(col(PERIOD_INDEX));
        for (String m : measures.columns()) {
            spanCols.add(col(m));
        }
        spanCols.add(explode(sequence(col(PERIOD_INDEX), col("__until"))).as("__at"));
        List<Column> denseCols = new ArrayList<>(List.of(entity));
        denseCols.add(col("__at").as(PERIOD_INDEX));
        for (String m : measures.columns()) {
            denseCols.add(when(col("__at").equalTo(col(PERIOD_INDEX)), col(m)).as(m));
        }
        Dataset<Row> dense = partials.withColumn("__until", until)
                .select(spanCols.toArray(Column[]::new))
                .select(denseCols.toArray(Column[]::new));

        // 3. Trailing windows: rows are consecutive periods, so a window of W periods is W rows.
        List<Column> out = new ArrayList<>(List.of(entity));
        out.add(spec.grain().start(PERIOD_INDEX).as(PERIOD_START));
        out.add(spec.grain().end(spec.grain().start(PERIOD_INDEX)).as(PERIOD_END));
        for (FeatureSpec f : spec.features()) {
            WindowSpec w = Window.partitionBy(entity).orderBy(col(PERIOD_INDEX)).rowsBetween(-(f.windowPeriods() - 1), 0);
            String x = f.aggregation().argument().orElse(null);
            Column value = switch (f.aggregation().kind()) {
                case COUNT -> coalesce(sum(measures.get("rows", null)).over(w), lit(0L));
                case SUM -> when(sum(measures.get("n", x)).over(w).gt(0), sum(measures.get("sum", x)).over(w));
                case AVG -> {
                    Column n = sum(measures.get("n", x)).over(w);
                    yield when(n.gt(0), sum(measures.get("sum", x)).over(w).divide(n));
                }
                case MIN -> min(measures.get("min", x)).over(w);
                case MAX -> max(measures.get("max", x)).over(w);
                case STDDEV -> {
                    Column n = sum(measures.get("n", x)).over(w);
                    Column s = sum(measures.get("sum", x)).over(w);
                    Column q = sum(measures.get("sumsq", x)).over(w);
                    yield when(n.gt(1), sqrt(greatest(lit(0.0), q.minus(s.multiply(s).divide(n)).divide(n.minus(1)))));
                }
                case RATE -> {
                    Column n = sum(measures.get("n", x)).over(w);
                    yield when(n.gt(0), sum(measures.get("true", x)).over(w).divide(n));
                }
                case APPROX_DISTINCT -> {
                    // Episodes begun up to this period, less those whose last value left the window: those that
                    // ended up to this period, less those that ended inside the window.
                    int periods = f.windowPeriods();
                    WindowSpec upTo = Window.partitionBy(entity).orderBy(col(PERIOD_INDEX))
                            .rowsBetween(Window.unboundedPreceding(), 0);
                    Column begun = sum(measures.get("begin" + periods, x)).over(upTo);
                    Column ended = sum(measures.get("end" + periods, x)).over(upTo);
                    Column endedInWindow = sum(measures.get("end" + periods, x)).over(w);
                    yield coalesce(begun, lit(0L)).minus(coalesce(ended, lit(0L))).plus(coalesce(endedInWindow, lit(0L)));
                }
            };
            Column typed = value.cast(f.type());
            if (f.defaultValue().isPresent()) {
                typed = coalesce(typed, lit(f.defaultValue().get()).cast(f.type()));
            }
            out.add(typed.as(f.name()));
        }
        out.add(col(PERIOD_INDEX));
        return dense.select(out.toArray(Column[]::new))
                .filter(col(PERIOD_INDEX).geq(from))
                .drop(PERIOD_INDEX)
                .withColumn(PERIOD_DATE, expr("to_date(" + PERIOD_START + ")"));
    }

    /**
     * The exact distinct count of {@code x} over trailing windows, as per-period measures the windows can sum
     * (one pass over the rows, no per-row sets or sketches, every operator one a GPU plan can hold). A value's
     * periods make episodes for a window of W periods: a period less than W after the value's previous one
     * continues the episode. The value is in a period's window exactly while an episode of it has begun and
     * has not ended, an episode ending W periods after its last one. Per entity and period: {@code begin<W>}
     * counts the values whose episode begins there, {@code end<W>} those whose episode has its last period
     * there. Declares both in {@code measures}.
     */
    private static Dataset<Row> episodeEnds(Dataset<Row> history, Column[] entity, String x,
            java.util.SortedSet<Integer> windows, Measures measures) {
        List<Column> byValue = new ArrayList<>(List.of(entity));
        byValue.add(col("__x"));
        WindowSpec w = Window.partitionBy(byValue.toArray(Column[]::new)).orderBy(col(PERIOD_INDEX));
        List<Column> keep = new ArrayList<>(List.of(entity));
        keep.add(col(PERIOD_INDEX));
        keep.add(expr(x).as("__x"));
        Dataset<Row> rows = history.select(keep.toArray(Column[]::new)).filter(col("__x").isNotNull())
                .withColumn("__prev", lag(col(PERIOD_INDEX), 1).over(w))
                .withColumn("__next", lead(col(PERIOD_INDEX), 1).over(w));
        List<Column> sums = new ArrayList<>();
        for (int periods : windows) {
            sums.add(sum(when(col("__prev").isNull().or(col(PERIOD_INDEX).minus(col("__prev")).geq(periods)), 1L)
                    .otherwise(0L)).as(measures.declare("begin" + periods, x)));
            sums.add(sum(when(col("__next").isNull().or(col("__next").minus(col(PERIOD_INDEX)).geq(periods)), 1L)
                    .otherwise(0L)).as(measures.declare("end" + periods, x)));
        }
        List<Column> groupBy = new ArrayList<>(List.of(entity));
        groupBy.add(col(PERIOD_INDEX));
        return rows.groupBy(groupBy.toArray(Column[]::new)).agg(sums.get(0), sums.subList(1, sums.size()).toArray(Column[]::new));
    }

    /**
     * The per-period measures of one set, each a column named after what it measures and the argument it
     * measures ({@code __sum_0} is the sum of the set's first argument expression, {@code __rows} the row count).
     */
    private static final class Measures {
        private final Map<String, Column> aggregates = new LinkedHashMap<>();
        private final java.util.Set<String> columns = new java.util.LinkedHashSet<>();
        private final Map<String, Integer> arguments = new LinkedHashMap<>();

        /** Adds a partial aggregate, once however many features read it. */
        void aggregate(String measure, String argument, Column aggregate) {
            aggregates.putIfAbsent(declare(measure, argument), aggregate);
        }

        /** Declares a measure computed elsewhere (joined in); returns its column name. */
        String declare(String measure, String argument) {
            String name = argument == null ? "__" + measure
                    : "__" + measure + "_" + arguments.computeIfAbsent(argument, a -> arguments.size());
            columns.add(name);
            return name;
        }

        Column get(String measure, String argument) {
            String name = argument == null ? "__" + measure : "__" + measure + "_" + arguments.get(argument);
            if (!columns.contains(name)) {
                throw new IllegalStateException("measure " + measure + "(" + argument + ") was not computed");
            }
            return col(name);
        }

        List<Column> aggregates() {
            List<Column> out = new ArrayList<>();
            aggregates.forEach((name, aggregate) -> out.add(aggregate.as(name)));
            return out;
        }

        List<String> columns() {
            return List.copyOf(columns);
        }
    }

    static LocalDateTime periodStart(FeatureSetSpec spec, long index) {
        return spec.grain().start(index);
    }

    private Optional<Long> sourceVersion(FeatureSetSpec spec) {
        return spec.source().map(t -> lakehouse.version(t));
    }
}
