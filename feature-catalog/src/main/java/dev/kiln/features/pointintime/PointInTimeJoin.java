package dev.kiln.features.pointintime;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.last;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.struct;

import dev.kiln.features.definition.FeatureSetSpec;
import dev.kiln.features.definition.FeatureSets;
import dev.kiln.features.definition.FeatureSpec;
import dev.kiln.features.materialize.Materializer;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.DataTypes;

/**
 * Joins feature values to entity events without leaking the future. For an event at time t, each
 * feature set contributes the row of the latest period that ended at or before t, provided it ended no
 * more than the set's TTL before t; otherwise its features are null and {@code <set>__missing} is true.
 * Output columns are the event's columns, then {@code <set>__<feature>} per reference and
 * {@code <set>__missing} per set.
 *
 * <p>The common case is an equi-join: materialized rows are dense per entity, so the period that ended
 * last before t (the one holding t minus one grain) usually exists. Events without that row (no history
 * yet, a gap longer than the longest window, or past the materialized range) are resolved by an as-of
 * step over just those events. The same code builds training sets and scoring rows.
 */
public final class PointInTimeJoin {
    private static final String T = "__event_t";
    private static final String CANDIDATE = "__candidate";

    private final Lakehouse lakehouse;
    private final FeatureSets sets;

    public PointInTimeJoin(Lakehouse lakehouse, FeatureSets sets) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
        this.sets = requireNonNull(sets, "sets is null");
    }

    /** A set version and the features asked of it. */
    public record ResolvedSet(FeatureSetSpec spec, int version, TableName table, List<String> features) {}

    /** Resolves references to set versions that exist, with clear errors for what does not. */
    public List<ResolvedSet> resolve(List<FeatureRef> refs) {
        Map<String, ResolvedSet> out = new LinkedHashMap<>();
        Set<String> seen = new LinkedHashSet<>();
        for (FeatureRef ref : refs) {
            FeatureSetSpec spec = sets.get(ref.set());
            int version = ref.version().orElse(spec.version());
            List<String> known = spec.features().stream().map(FeatureSpec::name).toList();
            if (!known.contains(ref.feature())) {
                throw new KilnException("unknown feature '" + ref.feature() + "' in feature set '" + spec.name()
                        + "' (known: " + String.join(", ", known) + ")");
            }
            if (!seen.add(spec.name() + ":" + ref.feature())) {
                throw new KilnException("feature " + spec.name() + ":" + ref.feature() + " is asked for twice");
            }
            TableName table = TableName.of(FeatureSetSpec.SCHEMA, spec.name() + "__v" + version);
            if (!lakehouse.exists(table)) {
                throw new KilnException("feature set '" + spec.name() + "' has no materialized version " + version
                        + " (" + table + " does not exist; run kiln features materialize " + spec.name() + ")");
            }
            ResolvedSet prev = out.get(spec.name());
            if (prev != null && prev.version() != version) {
                throw new KilnException("feature set '" + spec.name() + "' is asked for in versions " + prev.version()
                        + " and " + version + "; use one version per set");
            }
            List<String> features = new ArrayList<>(prev == null ? List.of() : prev.features());
            features.add(ref.feature());
            out.put(spec.name(), new ResolvedSet(spec, version, table, List.copyOf(features)));
        }
        return List.copyOf(out.values());
    }

    public Dataset<Row> join(Dataset<Row> events, String eventTime, List<FeatureRef> refs) {
        List<String> columns = List.of(events.columns());
        if (!columns.contains(eventTime)) {
            throw new KilnException("event column '" + eventTime + "' is not in the events (columns: " + columns + ")");
        }
        String type = events.schema().apply(eventTime).dataType().typeName();
        if (!type.startsWith("timestamp") && !type.equals("date")) {
            throw new KilnException("event column '" + eventTime + "' is " + type + ", expected a timestamp or date");
        }
        Dataset<Row> out = events.withColumn(T, col(eventTime).cast(DataTypes.TimestampNTZType));
        for (ResolvedSet set : resolve(refs)) {
            for (String k : set.spec().entity()) {
                if (!columns.contains(k)) {
                    throw new KilnException("the events lack entity column '" + k + "' of feature set '"
                            + set.spec().name() + "' (event columns: " + columns + ")");
                }
            }
            out = joinSet(out, set);
        }
        return out.drop(T);
    }

    private Dataset<Row> joinSet(Dataset<Row> events, ResolvedSet set) {
        FeatureSetSpec spec = set.spec();
        int gh = spec.grain().hours();
        String prefix = spec.name() + "__";
        List<String> eventCols = List.of(events.columns());

        // The feature rows, renamed so they cannot collide with event columns.
        List<Column> fcols = new ArrayList<>();
        for (String k : spec.entity()) {
            fcols.add(col(k).as(prefix + "key_" + k));
        }
        fcols.add(periodIndex(col(Materializer.PERIOD_START), gh).as(prefix + "period"));
        fcols.add(col(Materializer.PERIOD_END).as(prefix + "period_end"));
        for (String f : set.features()) {
            fcols.add(col(f).as(prefix + f));
        }
        Dataset<Row> features = lakehouse.read(set.table()).select(fcols.toArray(Column[]::new));

        // 1. The period holding t minus one grain is the latest one that ended at or before t.
        Dataset<Row> withCandidate = events.withColumn(CANDIDATE,
                periodIndex(col(T).minus(expr("make_dt_interval(0, " + gh + ", 0, 0)")), gh));
        Column exact = col(CANDIDATE).equalTo(features.col(prefix + "period"));
        for (String k : spec.entity()) {
            exact = exact.and(withCandidate.col(k).equalTo(features.col(prefix + "key_" + k)));
        }
        List<Column> hitCols = new ArrayList<>();
        eventCols.forEach(c -> hitCols.add(withCandidate.col(c)));
        for (String f : set.features()) {
            hitCols.add(features.col(prefix + f));
        }
        hitCols.add(lit(false).as(prefix + "missing"));
        // One join; its two halves below share its shuffles.
        Dataset<Row> joined = withCandidate.join(features, exact, "left");
        Column found = features.col(prefix + "period").isNotNull();
        Dataset<Row> hits = joined.filter(found).select(hitCols.toArray(Column[]::new));
        List<Column> missCols0 = new ArrayList<>();
        eventCols.forEach(c -> missCols0.add(withCandidate.col(c)));
        missCols0.add(withCandidate.col(CANDIDATE));
        Dataset<Row> misses = joined.filter(org.apache.spark.sql.functions.not(found)).select(missCols0.toArray(Column[]::new));

        // 2. As-of for the rest: events and feature rows in one ordering per entity; each event takes the
        //    last feature row at or before its candidate period, then the TTL decides.
        List<String> keyNames = spec.entity().stream().map(k -> "__k_" + k).toList();
        List<String> featureNames = set.features().stream().map(f -> prefix + f).toList();
        List<Column> evSide = new ArrayList<>();
        for (String k : spec.entity()) {
            evSide.add(col(k).as("__k_" + k));
        }
        evSide.add(col(CANDIDATE).as("__order"));
        evSide.add(lit(1).as("__kind"));
        evSide.add(struct(eventCols.stream().map(c -> col(c)).toArray(Column[]::new)).as("__event"));
        evSide.add(lit(null).cast(featureStruct(features, prefix, set.features())).as("__feature"));
        List<Column> fSide = new ArrayList<>();
        for (String k : spec.entity()) {
            fSide.add(col(prefix + "key_" + k).as("__k_" + k));
        }
        fSide.add(col(prefix + "period").as("__order"));
        fSide.add(lit(0).as("__kind"));
        fSide.add(lit(null).cast(misses.select(struct(eventCols.stream().map(c -> col(c)).toArray(Column[]::new)))
                .schema().fields()[0].dataType()).as("__event"));
        List<Column> fStruct = new ArrayList<>();
        fStruct.add(col(prefix + "period_end").as("period_end"));
        featureNames.forEach(f -> fStruct.add(col(f).as(f)));
        fSide.add(struct(fStruct.toArray(Column[]::new)).as("__feature"));
        Dataset<Row> unioned = misses.select(evSide.toArray(Column[]::new)).unionByName(features.select(fSide.toArray(Column[]::new)));
        Column[] partition = keyNames.stream().map(k -> col(k)).toArray(Column[]::new);
        Dataset<Row> asOf = unioned
                .withColumn("__latest", last(col("__feature"), true).over(Window.partitionBy(partition)
                        .orderBy(col("__order"), col("__kind")).rowsBetween(Window.unboundedPreceding(), Window.currentRow())))
                .filter(col("__kind").equalTo(1));
        Column fresh = col("__latest").isNotNull()
                .and(col("__latest.period_end").geq(col("__event." + T).minus(expr("make_dt_interval(0, "
                        + spec.ttl().hours() + ", 0, 0)"))));
        List<Column> missCols = new ArrayList<>();
        eventCols.forEach(c -> missCols.add(col("__event.`" + c + "`").as(c)));
        for (String f : featureNames) {
            missCols.add(org.apache.spark.sql.functions.when(fresh, col("__latest.`" + f + "`")).as(f));
        }
        missCols.add(org.apache.spark.sql.functions.not(fresh).as(prefix + "missing"));
        Dataset<Row> resolved = asOf.select(missCols.toArray(Column[]::new));
        return hits.unionByName(resolved);
    }

    private static org.apache.spark.sql.types.DataType featureStruct(Dataset<Row> features, String prefix, List<String> names) {
        List<Column> cols = new ArrayList<>();
        cols.add(col(prefix + "period_end").as("period_end"));
        names.forEach(f -> cols.add(col(prefix + f).as(prefix + f)));
        return features.select(struct(cols.toArray(Column[]::new))).schema().fields()[0].dataType();
    }

    /** The index of the period holding a TIMESTAMP_NTZ, as the materializer numbers periods. */
    private static Column periodIndex(Column ts, int gh) {
        Column day = org.apache.spark.sql.functions.datediff(org.apache.spark.sql.functions.to_date(ts),
                lit(java.sql.Date.valueOf("1970-01-01"))).cast(DataTypes.LongType);
        if (gh == 24) {
            return day;
        }
        return day.multiply(24).plus(org.apache.spark.sql.functions.hour(ts)).divide(gh).cast(DataTypes.LongType);
    }
}
