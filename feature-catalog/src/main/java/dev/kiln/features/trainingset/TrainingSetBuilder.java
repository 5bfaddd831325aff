package dev.kiln.features.trainingset;

import static java.util.Objects.requireNonNull;
import static org.apache.spark.sql.functions.expr;

import dev.kiln.features.definition.FeatureSets;
import dev.kiln.features.pointintime.FeatureRef;
import dev.kiln.features.pointintime.PointInTimeJoin;
import dev.kiln.features.pointintime.PointInTimeJoin.ResolvedSet;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import dev.kiln.lakehouse.fault.CrashPoint;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.execution.datasources.LogicalRelation;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Builds point-in-time correct training sets: the events (table or query) with their label, joined to
 * the referenced features by {@link PointInTimeJoin}, written to a Delta snapshot
 * {@code features.training__<name>__<id>} and registered in {@code features.training_sets}.
 *
 * <p>Every input is read at a pinned Delta version (events through {@code VERSION AS OF}, feature tables
 * by time travel), and the set's id is a hash of its declaration, resolved references and those versions.
 * Building the same declaration over unchanged inputs therefore finds the set already built and writes
 * nothing; {@link #rebuild(String)} recomputes a registered set from its row and compares the rows.
 */
public final class TrainingSetBuilder {
    private final Lakehouse lakehouse;
    private final PointInTimeJoin pit;
    private final TrainingSetRegistry registry;
    private final Consumer<String> progress;

    public TrainingSetBuilder(Lakehouse lakehouse, FeatureSets sets, Consumer<String> progress) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
        this.pit = new PointInTimeJoin(lakehouse, requireNonNull(sets, "sets is null"));
        this.registry = new TrainingSetRegistry(lakehouse);
        this.progress = requireNonNull(progress, "progress is null");
    }

    /** Builds the set, or finds it already built from the same declaration and input versions. */
    public TrainingSet build(TrainingSetSpec spec) {
        long started = System.nanoTime();
        List<ResolvedSet> resolved = pit.resolve(spec.features());
        List<String> refs = resolvedRefs(spec, resolved);
        Map<String, Long> inputs = new TreeMap<>(eventInputs(spec));
        for (ResolvedSet set : resolved) {
            inputs.put(set.table().toString(), lakehouse.version(set.table()));
        }
        String id = id(spec, refs, inputs);
        TableName table = TableName.of("features", "training__" + spec.name() + "__" + id);
        if (registry.find(id).isPresent() && lakehouse.exists(table)) {
            return registry.get(id);
        }
        progress.accept("training set " + spec.name() + " (id " + id + "): " + refs.size() + " features from "
                + resolved.size() + " feature set(s), inputs " + inputs);
        Dataset<Row> rows = compute(spec, refs, inputs);
        // The id names the content: a concurrent build of the same id (another process) writes the same rows, so
        // when Delta refuses this overwrite for that one's commit (or both created the table and the metastore admitted
        // the other), the commit path writes again over the table that now exists.
        long count = lakehouse.commits().overwrite(table, rows).overwriteSchema().commit().metric("numOutputRows");
        TrainingSet set = new TrainingSet(id, spec.name(), table, spec.labelColumn(), spec.eventTime(), refs, inputs,
                count, Instant.now(), false);
        CrashPoint.reached(CrashPoint.TRAINING_SET_AFTER_SNAPSHOT);
        registry.register(set, spec.description(), spec.text(), (System.nanoTime() - started) / 1e9);
        return set;
    }

    /** The plan of building the set from its inputs as they are now, not run (for plan reports). */
    public Dataset<Row> plan(TrainingSetSpec spec) {
        List<ResolvedSet> resolved = pit.resolve(spec.features());
        Map<String, Long> inputs = new TreeMap<>(eventInputs(spec));
        for (ResolvedSet set : resolved) {
            inputs.put(set.table().toString(), lakehouse.version(set.table()));
        }
        return compute(spec, resolvedRefs(spec, resolved), inputs);
    }

    /**
     * The rows to score: the set's events (as they are now) with event time in {@code [from, until)}, its
     * columns, and the given feature references (pinned to versions, as a model was trained with) joined
     * point in time by the same code that built the training set. No label: outcomes may not exist yet.
     */
    public Dataset<Row> scoringRows(TrainingSetSpec spec, List<String> refs, java.time.LocalDateTime from,
            java.time.LocalDateTime until) {
        return scoringRows(spec, refs, List.of(new EventRange(from, until)));
    }

    /** Event times {@code [from, until)}. */
    public record EventRange(java.time.LocalDateTime from, java.time.LocalDateTime until) {}

    /**
     * As {@link #scoringRows(TrainingSetSpec, List, java.time.LocalDateTime, java.time.LocalDateTime)}, for the
     * events in any of {@code ranges}, in one point-in-time join.
     */
    public Dataset<Row> scoringRows(TrainingSetSpec spec, List<String> refs, List<EventRange> ranges) {
        if (ranges.isEmpty()) {
            throw new KilnException("no event range to score");
        }
        List<FeatureRef> featureRefs = refs.stream().map(FeatureRef::parse).toList();
        List<ResolvedSet> resolved = pit.resolve(featureRefs);
        Dataset<Row> events = events(spec, spec.eventsSql());
        List<String> available = List.of(events.columns());
        if (!available.contains(spec.eventTime())) {
            throw new KilnException("training-sets." + spec.name() + ": the events have no column '" + spec.eventTime() + "'");
        }
        Column t = events.col(spec.eventTime());
        Column inRange = null;
        for (EventRange r : ranges) {
            Column in = t.geq(org.apache.spark.sql.functions.lit(r.from())).and(t.lt(org.apache.spark.sql.functions.lit(r.until())));
            inRange = inRange == null ? in : inRange.or(in);
        }
        events = events.filter(inRange);
        return pit.join(select(spec, events, resolved, List.of()), spec.eventTime(), featureRefs, Map.of());
    }

    /**
     * Rows to score from events the caller gives (not the set's own), joined point in time to the feature
     * references. The events need only the feature sets' entity keys, the event time and {@code inputs} (the
     * model's own inputs among the event columns); of the set's other columns they keep those they have. A missing
     * column is an error naming it and what scoring needs.
     */
    public Dataset<Row> scoringRows(TrainingSetSpec spec, List<String> refs, Dataset<Row> events, List<String> inputs) {
        List<FeatureRef> featureRefs = refs.stream().map(FeatureRef::parse).toList();
        List<ResolvedSet> resolved = pit.resolve(featureRefs);
        List<String> available = List.of(events.columns());
        Set<String> keys = new LinkedHashSet<>();
        resolved.forEach(set -> keys.addAll(set.entity()));
        Set<String> needed = new LinkedHashSet<>(keys);
        needed.add(spec.eventTime());
        needed.addAll(inputs);
        for (String c : needed) {
            if (!available.contains(c)) {
                throw new KilnException("the rows to score have no column '" + c + "': scoring needs the entity keys " + keys
                        + ", the event time '" + spec.eventTime() + "' and the model's inputs " + inputs + " (the rows have "
                        + available + ")");
            }
        }
        Set<String> keep = new LinkedHashSet<>();
        (spec.columns().isEmpty() ? available : spec.columns()).stream().filter(available::contains).forEach(keep::add);
        keep.addAll(needed);
        keep.remove(spec.labelColumn());
        return pit.join(events.select(keep.stream().map(events::col).toArray(Column[]::new)), spec.eventTime(), featureRefs,
                Map.of());
    }

    /**
     * The outcomes of the set's events with event time in {@code [from, until)}, as they are now: the event
     * columns (those scoring keeps) and the label, rows without a label left out. For evaluating predictions.
     */
    public Dataset<Row> outcomes(TrainingSetSpec spec, java.time.LocalDateTime from, java.time.LocalDateTime until) {
        List<ResolvedSet> resolved = pit.resolve(spec.features());
        Dataset<Row> events = events(spec, spec.eventsSql());
        events = events.filter(events.col(spec.eventTime()).geq(org.apache.spark.sql.functions.lit(from))
                .and(events.col(spec.eventTime()).lt(org.apache.spark.sql.functions.lit(until))));
        Dataset<Row> labelled = select(spec, events, resolved, List.of(expr(spec.label()).as(spec.labelColumn())));
        return labelled.filter(labelled.col(spec.labelColumn()).isNotNull());
    }

    /** Recomputes a registered set from its registry row (pinned inputs) and compares it, row for row, with its snapshot. */
    public TrainingSetRebuild rebuild(String id) {
        TrainingSet set = registry.get(id);
        Row row = registry.find(id).orElseThrow();
        TrainingSetSpec spec = TrainingSetSpec.fromText(set.name(), row.getAs("spec"));
        progress.accept("rebuilding training set " + id + " from inputs " + set.inputs());
        Dataset<Row> rebuilt = compute(spec, set.featureRefs(), set.inputs());
        Dataset<Row> snapshot = lakehouse.read(set.table());
        if (!List.of(rebuilt.columns()).equals(List.of(snapshot.columns()))) {
            throw new KilnException("training set " + id + " rebuilt with columns " + List.of(rebuilt.columns())
                    + " but its snapshot has " + List.of(snapshot.columns()));
        }
        long n = rebuilt.count();
        long onlyRebuilt = rebuilt.exceptAll(snapshot).count();
        long onlySnapshot = snapshot.exceptAll(rebuilt).count();
        return new TrainingSetRebuild(set, n, onlyRebuilt, onlySnapshot);
    }

    /**
     * The rows of a set: events read at the pinned versions, filtered, labelled, narrowed to the declared
     * columns, then joined point-in-time to the features (feature tables at their pinned versions).
     */
    Dataset<Row> compute(TrainingSetSpec spec, List<String> refs, Map<String, Long> inputs) {
        List<FeatureRef> featureRefs = refs.stream().map(FeatureRef::parse).toList();
        List<ResolvedSet> resolved = pit.resolve(featureRefs);
        Map<TableName, Long> featurePins = new java.util.HashMap<>();
        Map<String, Long> eventPins = new TreeMap<>(inputs);
        for (ResolvedSet set : resolved) {
            Long v = inputs.get(set.table().toString());
            if (v == null) {
                throw new KilnException("training set " + spec.name() + " has no pinned version of " + set.table());
            }
            featurePins.put(set.table(), v);
            eventPins.remove(set.table().toString());
        }
        Dataset<Row> events = filtered(spec, pinned(spec, eventPins));
        String at = "training-sets." + spec.name();
        try {
            Column label = expr(spec.label()).as(spec.labelColumn());
            Dataset<Row> labelled = select(spec, events, resolved, List.of(label));
            labelled.schema(); // analysis happens here: a bad label expression fails now, not mid-job
            return pit.join(labelled, spec.eventTime(), featureRefs, featurePins);
        } catch (KilnException e) {
            throw e;
        } catch (Exception e) {
            throw new KilnException(at + ".label: '" + spec.label() + "' does not fit the events: "
                    + KilnException.firstLine(e.getMessage()), e);
        }
    }

    /** The events of a set from the given SQL, filtered by its {@code where}. */
    private Dataset<Row> events(TrainingSetSpec spec, String sql) {
        try {
            Dataset<Row> events = lakehouse.spark().sql(sql);
            lakehouse.noteReads(events);
            return filtered(spec, events);
        } catch (KilnException e) {
            throw e;
        } catch (Exception e) { // AnalysisException, ParseException
            throw new KilnException("training-sets." + spec.name() + ": the events could not be read: "
                    + KilnException.firstLine(e.getMessage()), e);
        }
    }

    private static Dataset<Row> filtered(TrainingSetSpec spec, Dataset<Row> events) {
        return spec.where().isPresent() ? events.filter(expr(spec.where().get())) : events;
    }

    /** The declared columns (all when none are declared), the sets' entity keys and the event time, then {@code extra}. */
    private static Dataset<Row> select(TrainingSetSpec spec, Dataset<Row> events, List<ResolvedSet> resolved, List<Column> extra) {
        List<String> available = List.of(events.columns());
        Set<String> keep = new LinkedHashSet<>(spec.columns().isEmpty() ? available : spec.columns());
        for (ResolvedSet set : resolved) {
            keep.addAll(set.entity());
        }
        keep.add(spec.eventTime());
        keep.remove(spec.labelColumn());
        for (String c : keep) {
            if (!available.contains(c)) {
                throw new KilnException("training-sets." + spec.name() + ": the events have no column '" + c
                        + "' (columns: " + available + ")");
            }
        }
        List<Column> select = new ArrayList<>();
        for (String c : keep) {
            select.add(events.col(c));
        }
        select.addAll(extra);
        return events.select(select.toArray(Column[]::new));
    }

    private static List<String> resolvedRefs(TrainingSetSpec spec, List<ResolvedSet> resolved) {
        List<String> out = new ArrayList<>();
        for (FeatureRef ref : spec.features()) {
            ResolvedSet set = resolved.stream().filter(s -> s.name().equals(ref.set())).findFirst().orElseThrow();
            out.add(set.name() + "@" + set.version() + ":" + ref.feature());
        }
        return out;
    }

    /** Catalog tables the events read, with their current Delta versions. */
    private Map<String, Long> eventInputs(TrainingSetSpec spec) {
        LogicalPlan plan;
        try {
            plan = lakehouse.spark().sql(spec.eventsSql()).queryExecution().optimizedPlan();
        } catch (Exception e) {
            throw new KilnException("training-sets." + spec.name() + ": the events could not be read: "
                    + KilnException.firstLine(e.getMessage()), e);
        }
        Map<String, Long> out = new TreeMap<>();
        for (LogicalPlan leaf : CollectionConverters.asJava(plan.collectLeaves())) {
            if (leaf instanceof LogicalRelation rel && rel.catalogTable().isDefined()) {
                var ident = rel.catalogTable().get().identifier();
                TableName name = TableName.of(ident.database().get(), ident.table());
                out.put(name.toString(), lakehouse.version(name));
            }
        }
        if (out.isEmpty()) {
            throw new KilnException("training-sets." + spec.name() + ": the events read no catalog table, so they"
                    + " cannot be pinned to a version for rebuilding");
        }
        return out;
    }

    /**
     * The events as the set's query reads them, each input table read at its pinned Delta version. The query is
     * parsed by Spark's own parser and every reference to a pinned table (in the main query, CTEs and subqueries,
     * however it is quoted) becomes a time travel to that version in the plan; comments and string literals are
     * never touched, because no text is rewritten.
     */
    private Dataset<Row> pinned(TrainingSetSpec spec, Map<String, Long> tables) {
        String at = "training-sets." + spec.name();
        LogicalPlan parsed;
        try {
            parsed = lakehouse.spark().sessionState().sqlParser().parsePlan(spec.eventsSql());
        } catch (Exception e) {
            throw new KilnException(at + ": the events could not be read: " + KilnException.firstLine(e.getMessage()), e);
        }
        String database = lakehouse.spark().catalog().currentDatabase();
        Set<String> seen = new java.util.TreeSet<>();
        LogicalPlan plan = new PinVersions(tables, database, seen).pin(parsed);
        for (String t : tables.keySet()) {
            if (!seen.contains(t)) {
                throw new KilnException(at + ": the events read " + t + " without naming it (through a view?), so it"
                        + " cannot be pinned to a version; name the table itself");
            }
        }
        tables.forEach((t, v) -> lakehouse.noteRead(TableName.parse(t), v));
        try {
            return org.apache.spark.sql.classic.Dataset.ofRows((org.apache.spark.sql.classic.SparkSession) lakehouse.spark(), plan);
        } catch (Exception e) {
            throw new KilnException(at + ": the events could not be read at their pinned versions " + tables + ": "
                    + KilnException.firstLine(e.getMessage()), e);
        }
    }

    /** Rewrites a parsed plan so that relations naming a pinned table read it at its version. */
    private static final class PinVersions extends scala.runtime.AbstractPartialFunction<LogicalPlan, LogicalPlan> {
        private final Map<String, Long> tables;
        private final String database;
        private final Set<String> seen;

        PinVersions(Map<String, Long> tables, String database, Set<String> seen) {
            this.tables = tables;
            this.database = database;
            this.seen = seen;
        }

        LogicalPlan pin(LogicalPlan plan) {
            return plan.transformUpWithSubqueries(this);
        }

        private String table(org.apache.spark.sql.catalyst.analysis.UnresolvedRelation r) {
            List<String> parts = new ArrayList<>(CollectionConverters.asJava(r.multipartIdentifier()));
            if (parts.size() == 3 && parts.get(0).equalsIgnoreCase("spark_catalog")) {
                parts.remove(0);
            }
            if (parts.size() == 1) {
                parts.add(0, database);
            }
            return parts.size() == 2 ? (parts.get(0) + "." + parts.get(1)).toLowerCase(java.util.Locale.ROOT) : "";
        }

        @Override
        public boolean isDefinedAt(LogicalPlan p) {
            return p instanceof org.apache.spark.sql.catalyst.analysis.UnresolvedRelation r && tables.containsKey(table(r))
                    || p instanceof org.apache.spark.sql.catalyst.plans.logical.UnresolvedWith;
        }

        @Override
        public LogicalPlan apply(LogicalPlan p) {
            if (p instanceof org.apache.spark.sql.catalyst.plans.logical.UnresolvedWith with) {
                // CTE definitions are not children of the WITH node: pin inside each of them too.
                List<scala.Tuple2<String, org.apache.spark.sql.catalyst.plans.logical.SubqueryAlias>> ctes = new ArrayList<>();
                for (scala.Tuple2<String, org.apache.spark.sql.catalyst.plans.logical.SubqueryAlias> cte
                        : CollectionConverters.asJava(with.cteRelations())) {
                    ctes.add(new scala.Tuple2<>(cte._1(), (org.apache.spark.sql.catalyst.plans.logical.SubqueryAlias) pin(cte._2())));
                }
                return with.copy(with.child(), CollectionConverters.asScala(ctes).toSeq(), with.allowRecursion());
            }
            org.apache.spark.sql.catalyst.analysis.UnresolvedRelation r = (org.apache.spark.sql.catalyst.analysis.UnresolvedRelation) p;
            String name = table(r);
            seen.add(name);
            return new org.apache.spark.sql.catalyst.analysis.RelationTimeTravel(r, scala.Option.empty(),
                    scala.Option.apply(String.valueOf(tables.get(name))));
        }
    }

    private static String id(TrainingSetSpec spec, List<String> refs, Map<String, Long> inputs) {
        String text = spec.name() + "\n" + spec.text() + "\n" + refs + "\n" + new TreeMap<>(inputs);
        return dev.kiln.lakehouse.Hashing.sha256Hex(text, 12);
    }
}
