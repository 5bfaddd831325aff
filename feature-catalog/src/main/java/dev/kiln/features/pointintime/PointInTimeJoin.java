package dev.kiln.features.pointintime;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;

import dev.kiln.features.catalog.FeatureCatalog;
import dev.kiln.features.definition.FeatureSetSpec;
import dev.kiln.features.definition.FeatureSets;
import dev.kiln.features.definition.Grain;
import dev.kiln.features.definition.Span;
import dev.kiln.features.materialize.Materializer;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * Joins feature values to entity events without leaking the future. For an event at time t, each
 * feature set contributes the row of the latest period that ended at or before t, provided it ended no
 * more than the set's TTL before t; otherwise its features are null and {@code <set>__missing} is true.
 * Output columns are the event's columns, then {@code <set>__<feature>} per reference and
 * {@code <set>__missing} per set.
 *
 * <p>It is one equi-join per set. The materializer writes a row for every period from an entity's first
 * activity until its longest window empties, so inside the materialized range the period holding t minus
 * one grain either has a row or the entity has no history in any window (missing). Past the end of the
 * range the last materialized period stands in, as fresh as the TTL allows. The same code builds
 * training sets and scoring rows.
 */
public final class PointInTimeJoin {
    private static final String T = "__event_t";
    private static final String PERIOD = "__event_period_";

    /**
     * Events Spark estimates at most this size (a few rows from Python or a notebook, a {@code limit}) are a small
     * request: collected once, and each feature table is read only at the periods they look up.
     */
    public static final long SMALL_REQUEST_BYTES = 8L << 20;

    private final Lakehouse lakehouse;
    private final FeatureSets sets;
    private final FeatureCatalog catalog;
    private final long smallRequestBytes;

    public PointInTimeJoin(Lakehouse lakehouse, FeatureSets sets) {
        this(lakehouse, sets, SMALL_REQUEST_BYTES);
    }

    /** As {@link #PointInTimeJoin(Lakehouse, FeatureSets)} with another small-request limit (negative: never small). */
    public PointInTimeJoin(Lakehouse lakehouse, FeatureSets sets, long smallRequestBytes) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
        this.sets = requireNonNull(sets, "sets is null");
        this.catalog = new FeatureCatalog(lakehouse);
        this.smallRequestBytes = smallRequestBytes;
    }

    /**
     * A set version and the features asked of it, with the definition that version was materialized with (entity
     * keys, grain, TTL: from {@code features.catalog}, whatever the configuration says now).
     */
    public record ResolvedSet(String name, int version, TableName table, List<String> entity, Grain grain, Span ttl,
            List<String> features) {
        public ResolvedSet {
            entity = List.copyOf(entity);
            features = List.copyOf(features);
        }
    }

    /**
     * Resolves references to set versions that exist, with clear errors for what does not. A version's entity, grain,
     * TTL and features are the ones it was materialized with, as {@code features.catalog} records them, so a
     * reference pinned to an old version ({@code set@1:feature}) keeps its meaning after the set was bumped; the
     * configuration is the fallback for a version the catalog does not know.
     */
    public List<ResolvedSet> resolve(List<FeatureRef> refs) {
        Map<String, ResolvedSet> out = new LinkedHashMap<>();
        Map<String, FeatureCatalog.Definition> definitions = new java.util.HashMap<>();
        Set<String> seen = new LinkedHashSet<>();
        for (FeatureRef ref : refs) {
            FeatureSetSpec spec = sets.get(ref.set());
            int version = ref.version().orElse(spec.version());
            FeatureCatalog.Definition definition = definitions.computeIfAbsent(spec.name() + "@" + version,
                    k -> catalog.definition(spec.name(), version).orElseGet(() -> FeatureCatalog.Definition.of(spec)));
            // In the configured order where the configuration still declares them (the catalog keeps no order).
            List<String> configured = spec.features().stream().map(dev.kiln.features.definition.FeatureSpec::name).toList();
            List<String> known = definition.features().stream().sorted(java.util.Comparator.comparingInt(f ->
                    configured.contains(f) ? configured.indexOf(f) : configured.size())).toList();
            if (!known.contains(ref.feature())) {
                throw new dev.kiln.lakehouse.UnknownNameException("unknown feature '" + ref.feature() + "' in feature set '"
                        + spec.name() + "'" + (version == spec.version() ? "" : " v" + version) + " (known: "
                        + String.join(", ", known) + ")");
            }
            if (!seen.add(spec.name() + ":" + ref.feature())) {
                throw new KilnException("feature " + spec.name() + ":" + ref.feature() + " is asked for twice");
            }
            TableName table = TableName.of(FeatureSetSpec.SCHEMA, spec.name() + "__v" + version);
            if (!out.containsKey(spec.name()) && !lakehouse.exists(table)) {
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
            out.put(spec.name(), new ResolvedSet(spec.name(), version, table, definition.entity(), definition.grain(),
                    definition.ttl(), features));
        }
        return List.copyOf(out.values());
    }

    public Dataset<Row> join(Dataset<Row> events, String eventTime, List<FeatureRef> refs) {
        return join(events, eventTime, refs, Map.of());
    }

    /**
     * As {@link #join(Dataset, String, List)}, reading the feature tables named in {@code pinned} at the
     * Delta version given there (time travel), so a training set can be rebuilt exactly.
     */
    public Dataset<Row> join(Dataset<Row> events, String eventTime, List<FeatureRef> refs, Map<TableName, Long> pinned) {
        List<String> columns = List.of(events.columns());
        if (!columns.contains(eventTime)) {
            throw new KilnException("event column '" + eventTime + "' is not in the events (columns: " + columns + ")");
        }
        String type = events.schema().apply(eventTime).dataType().typeName();
        if (!type.startsWith("timestamp") && !type.equals("date")) {
            throw new KilnException("event column '" + eventTime + "' is " + type + ", expected a timestamp or date");
        }
        List<ResolvedSet> resolved = resolve(refs);
        // A small request: its rows, collected once (so a limit or a sample cannot change between reads), become a
        // local relation, whose period indexes Spark computes on the driver without a job.
        boolean small = isSmall(events);
        if (small) {
            events = lakehouse.spark().createDataFrame(events.collectAsList(), events.schema());
        }
        Dataset<Row> out = events.withColumn(T, dev.kiln.lakehouse.EventTime.of(col(eventTime)));
        // Each event's period index per grain, computed once: converting a timestamp to a date is the costly
        // part, and as a join key expression it would be evaluated again by every shuffle, sort and join.
        Set<Grain> grains = new java.util.TreeSet<>();
        resolved.forEach(r -> grains.add(r.grain()));
        for (Grain g : grains) {
            out = out.withColumn(PERIOD + g.hours(), g.index(col(T)));
        }
        Map<Integer, Set<Long>> periods = small ? periodsOf(out, grains) : Map.of();
        for (ResolvedSet set : resolved) {
            for (String k : set.entity()) {
                if (!columns.contains(k)) {
                    throw new KilnException("the events lack entity column '" + k + "' of feature set '"
                            + set.name() + "' (event columns: " + columns + ")");
                }
            }
            out = joinSet(out, set, pinned, Optional.ofNullable(periods.get(set.grain().hours())));
        }
        for (Grain g : grains) {
            out = out.drop(PERIOD + g.hours());
        }
        return out.drop(T);
    }

    private boolean isSmall(Dataset<Row> events) {
        if (smallRequestBytes < 0) {
            return false;
        }
        scala.math.BigInt size = events.queryExecution().optimizedPlan().stats().sizeInBytes();
        return size.compare(scala.math.BigInt.apply(smallRequestBytes)) <= 0;
    }

    /** The period indexes (per grain, in hours) of a small request's event times, computed on the driver. */
    private static Map<Integer, Set<Long>> periodsOf(Dataset<Row> local, Set<Grain> grains) {
        List<Grain> order = List.copyOf(grains);
        Map<Integer, Set<Long>> out = new java.util.HashMap<>();
        order.forEach(g -> out.put(g.hours(), new java.util.TreeSet<>()));
        Row[] rows = (Row[]) local.select(order.stream().map(g -> col(PERIOD + g.hours())).toArray(Column[]::new)).collect();
        for (Row r : rows) {
            for (int i = 0; i < order.size(); i++) {
                if (!r.isNullAt(i)) {
                    out.get(order.get(i).hours()).add(r.getLong(i));
                }
            }
        }
        return out;
    }

    /**
     * {@code lookups}: for a small request, the event periods of this set's grain, so that only the days the lookups
     * land on are read (partition pruning on {@code period_date}).
     */
    private Dataset<Row> joinSet(Dataset<Row> events, ResolvedSet set, Map<TableName, Long> pinned, Optional<Set<Long>> lookups) {
        int gh = set.grain().hours();
        String prefix = set.name() + "__"; // the join's own key columns, dropped by the select below

        // The feature rows, renamed so they cannot collide with event columns.
        List<Column> fcols = new ArrayList<>();
        for (String k : set.entity()) {
            fcols.add(col(k).as(prefix + "key_" + k));
        }
        fcols.add(set.grain().index(col(Materializer.PERIOD_START)).as(prefix + "period"));
        // The TTL is added on the feature side (hundreds of thousands of rows), not subtracted per event:
        // timestamp-interval arithmetic per event row was the join's most expensive expression.
        // Tables materialized before event times were TIMESTAMP hold TIMESTAMP_NTZ boundaries: read as UTC, exact.
        fcols.add(Grain.freshUntil(dev.kiln.lakehouse.EventTime.of(col(Materializer.PERIOD_END)), set.ttl()).as(prefix + "fresh_until"));
        for (String f : set.features()) {
            fcols.add(col(f).as(FeatureRef.column(set.name(), f)));
        }
        Dataset<Row> table = pinned.containsKey(set.table())
                ? lakehouse.readVersion(set.table(), pinned.get(set.table())) : lakehouse.read(set.table());
        // Daily sets: the last partition value, which Delta answers from its log without reading data. In sessions
        // with Java 8 date-time values (the SQL server, spark-sql) Delta 4.0.1's metadata-only answer fails on a date
        // (ClassCastException LocalDate -> java.sql.Date): there the day is read as a number, which Delta does not
        // answer from its log.
        boolean java8 = Boolean.parseBoolean(lakehouse.spark().conf().get("spark.sql.datetime.java8API.enabled", "false"));
        Column lastOf = gh == 24 && java8
                ? org.apache.spark.sql.functions.datediff(col(Materializer.PERIOD_DATE), lit(java.sql.Date.valueOf("1970-01-01")))
                : col(gh == 24 ? Materializer.PERIOD_DATE : Materializer.PERIOD_START);
        Row last = table.agg(org.apache.spark.sql.functions.max(lastOf)).head();
        if (last.isNullAt(0)) {
            throw new KilnException(set.table() + " is empty; run kiln features materialize " + set.name());
        }
        java.time.LocalDateTime lastStart = last.get(0) instanceof Integer days
                ? java.time.LocalDate.ofEpochDay(days).atStartOfDay() : dev.kiln.lakehouse.EventTime.utcWallClock(last.get(0));
        long lastPeriod = set.grain().index(lastStart);
        if (lookups.isPresent()) {
            // The period each event looks up (its own minus one, the last one past the end), as the day it starts on.
            Object[] days = lookups.get().stream().map(p -> Math.min(p - 1, lastPeriod))
                    .map(p -> java.sql.Date.valueOf(set.grain().start(p).toLocalDate())).distinct().toArray();
            table = table.where(days.length == 0 ? lit(false) : col(Materializer.PERIOD_DATE).isin(days));
        }
        Dataset<Row> features = table.select(fcols.toArray(Column[]::new));

        // The period holding t minus one grain is the latest one that ended at or before t. Past the end of
        // what is materialized, the last period stands in for it, and the TTL decides whether it is fresh.
        // Periods are aligned from 1970-01-01, so the one holding t minus a grain is t's own index minus one.
        Column lookup = org.apache.spark.sql.functions.least(events.col(PERIOD + gh).minus(1), lit(lastPeriod));
        Column on = lookup.equalTo(features.col(prefix + "period"));
        for (String k : set.entity()) {
            on = on.and(events.col(k).equalTo(features.col(prefix + "key_" + k)));
        }
        Column fresh = org.apache.spark.sql.functions.coalesce(features.col(prefix + "period").isNotNull()
                .and(features.col(prefix + "fresh_until").geq(col(T))), lit(false));
        List<Column> out = new ArrayList<>();
        for (String c : events.columns()) {
            out.add(events.col(c));
        }
        for (String f : set.features()) {
            String column = FeatureRef.column(set.name(), f);
            out.add(org.apache.spark.sql.functions.when(fresh, features.col(column)).as(column));
        }
        out.add(org.apache.spark.sql.functions.not(fresh).as(FeatureRef.missingColumn(set.name())));
        return events.join(features, on, "left").select(out.toArray(Column[]::new));
    }
}
