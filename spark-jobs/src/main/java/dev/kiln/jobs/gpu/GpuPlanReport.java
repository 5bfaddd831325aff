package dev.kiln.jobs.gpu;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * {@code reports.gpu_plan}: for a job's plan, every operator and expression the RAPIDS Accelerator would
 * place on the GPU, and those it would leave on the CPU with its reason. Asks the plugin's
 * {@code com.nvidia.spark.rapids.ExplainPlan.explainPotentialGpuPlan}, which works on a machine without a
 * GPU; the RAPIDS jar must be on the classpath ({@code spark-submit --jars}, or bin/kiln, which adds it).
 */
public final class GpuPlanReport {
    public static final TableName TABLE = TableName.of("reports", "gpu_plan");

    static final StructType SCHEMA = new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("job", DataTypes.StringType, false)
            .add("line", DataTypes.IntegerType, false)
            .add("depth", DataTypes.IntegerType, false)
            .add("kind", DataTypes.StringType, false)
            .add("operator", DataTypes.StringType, false)
            .add("detail", DataTypes.StringType, true)
            .add("on_gpu", DataTypes.BooleanType, false)
            .add("reason", DataTypes.StringType, true)
            .add("created_at", DataTypes.TimestampType, false);

    // "  !Exec <SortMergeJoinExec> cannot run on GPU because ..." / "*Expression <Alias> x AS y will run on GPU"
    // Lines of an expression's own verdict carry no kind: "    ! <HllUnionAgg> ... cannot run on GPU because ...",
    // "    ^ <HllSketchEstimate> ... will run on GPU via CPU bridge because ...".
    private static final Pattern LINE = Pattern.compile("^(\\s*)([*!@#$^])(\\w*) <([^>]+)>\\s?(.*)$");

    /**
     * One line of the plugin's explanation. {@code removed}: the plugin drops the operator from the GPU plan (marked
     * {@code #}, e.g. a sort before a sort-merge join it replaces with a hash join), so it runs nowhere.
     */
    public record Entry(int line, int depth, String kind, String operator, String detail, boolean onGpu, String reason,
            boolean removed) {
        public Entry(int line, int depth, String kind, String operator, String detail, boolean onGpu, String reason) {
            this(line, depth, kind, operator, detail, onGpu, reason, false);
        }
    }

    /**
     * One job's verdict: its operators, those the plugin would put on the GPU, and those that are MLlib model stages
     * (operators evaluating a model's vector UDFs, which no GPU form exists for), counted apart from the share.
     * Operators the plugin removes from the GPU plan are not operators of it: {@code removed} counts them apart.
     */
    public record Summary(String job, int operators, int onGpu, int mllibStages, int noGpuForm, int removed,
            Map<String, Long> reasons, Double rowsShare) {
        public Summary {
            requireNonNull(job, "job is null");
            reasons = Map.copyOf(reasons);
        }

        /**
         * Operators on the GPU among those that are neither MLlib stages nor held on the CPU only by a feature kind
         * with no GPU form (approx_distinct's DataSketches HLL), in percent (100 when there are none).
         */
        public double gpuShare() {
            int sql = operators - mllibStages - noGpuForm;
            return sql == 0 ? 100.0 : 100.0 * onGpu / sql;
        }

        /** Operators on the GPU among all but the MLlib stages, in percent. */
        public double sqlShare() {
            int sql = operators - mllibStages;
            return sql == 0 ? 100.0 : 100.0 * onGpu / sql;
        }

        public static Summary of(String job, List<Entry> entries) {
            return of(job, entries, java.util.Optional.empty());
        }

        /**
         * As {@link #of(String, List)}, with {@code rowsRead}: the rows each operator reads, one per operator line in
         * order (see {@link #rowsRead}). {@code rowsShare} is then the GPU operators' share of those rows among the
         * operators {@code share} counts (null without them, or when no rows are estimated).
         */
        public static Summary of(String job, List<Entry> entries, java.util.Optional<List<Double>> rowsRead) {
            double rowsOnGpu = 0;
            double rowsCounted = 0;
            int exec = 0;
            int operators = 0;
            int onGpu = 0;
            int mllib = 0;
            int noForm = 0;
            int removed = 0;
            for (int i = 0; i < entries.size(); i++) {
                Entry e = entries.get(i);
                if (!e.kind().equals("Exec")) {
                    continue;
                }
                double rows = rowsRead.isPresent() ? rowsRead.get().get(exec) : 0;
                exec++;
                if (e.removed()) {
                    removed++;
                    continue;
                }
                operators++;
                if (e.onGpu()) {
                    onGpu++;
                    rowsOnGpu += rows;
                    rowsCounted += rows;
                } else if (holds(entries, i, o -> o.contains("UDF"))) {
                    mllib++;
                } else if (holds(entries, i, NO_GPU_FORM::contains)) {
                    noForm++;
                } else {
                    rowsCounted += rows;
                }
            }
            Map<String, Long> reasons = new java.util.TreeMap<>();
            for (Entry e : entries) {
                if (!e.onGpu() && !e.removed() && e.reason() != null) {
                    reasons.merge(e.operator() + ": " + e.reason(), 1L, Long::sum);
                }
            }
            Double rowsShare = rowsRead.isPresent() && rowsCounted > 0 ? 100.0 * rowsOnGpu / rowsCounted : null;
            return new Summary(job, operators, onGpu, mllib, noForm, removed, reasons, rowsShare);
        }

        /** Whether operator {@code i}'s own expressions (the lines right under it) hold one left on the CPU that matches. */
        private static boolean holds(List<Entry> entries, int i, java.util.function.Predicate<String> operator) {
            int depth = entries.get(i).depth();
            for (int j = i + 1; j < entries.size(); j++) {
                Entry e = entries.get(j);
                if (e.depth() <= depth || e.kind().equals("Exec")) {
                    return false;
                }
                if (!e.onGpu() && operator.test(e.operator())) {
                    return true;
                }
            }
            return false;
        }
    }

    /** Expressions of feature kinds that have no GPU form (approx_distinct's DataSketches HLL sketches). */
    public static final java.util.Set<String> NO_GPU_FORM = java.util.Set.of("HllSketchAgg", "HllUnionAgg", "HllSketchEstimate");

    /**
     * The rows each operator of {@code plan} reads, estimated by Spark's optimizer, in the order the plugin explains
     * the operators (pre-order, exchanges included; code-generation and row-conversion wrappers left out): a scan's rows for a scan,
     * else the rows its children put out. An operator's output is its logical plan's row count, or its estimated
     * size over its row size, never more than it reads (joins without statistics are estimated as products). Empty
     * when the plan's operators do not line up with {@code explained} (the operator names of the explanation).
     */
    public static java.util.Optional<List<Double>> rowsRead(Dataset<Row> plan, List<String> explained) {
        org.apache.spark.sql.execution.SparkPlan root = plan.queryExecution().executedPlan();
        if (root instanceof org.apache.spark.sql.execution.adaptive.AdaptiveSparkPlanExec a) {
            root = a.initialPlan(); // with its exchanges and sorts, as the plugin explains it
        }
        root = unwrapped(root);
        List<org.apache.spark.sql.execution.SparkPlan> nodes = new ArrayList<>();
        preorder(root, nodes);
        if (!nodes.stream().map(n -> n.getClass().getSimpleName()).toList().equals(explained)) {
            return java.util.Optional.empty();
        }
        Map<org.apache.spark.sql.execution.SparkPlan, Double> out = new java.util.IdentityHashMap<>();
        List<Double> rows = new ArrayList<>();
        for (org.apache.spark.sql.execution.SparkPlan n : nodes) {
            List<org.apache.spark.sql.execution.SparkPlan> children = operatorChildren(n);
            rows.add(children.isEmpty() ? output(n, out) : children.stream().mapToDouble(c -> output(c, out)).sum());
        }
        return java.util.Optional.of(rows);
    }

    private static void preorder(org.apache.spark.sql.execution.SparkPlan n, List<org.apache.spark.sql.execution.SparkPlan> out) {
        out.add(n);
        for (org.apache.spark.sql.execution.SparkPlan c : operatorChildren(n)) {
            preorder(c, out);
        }
    }

    /** The operators under {@code n}, looking through code-generation wrappers. */
    private static List<org.apache.spark.sql.execution.SparkPlan> operatorChildren(org.apache.spark.sql.execution.SparkPlan n) {
        List<org.apache.spark.sql.execution.SparkPlan> out = new ArrayList<>();
        for (org.apache.spark.sql.execution.SparkPlan c : scala.jdk.javaapi.CollectionConverters.asJava(n.children())) {
            out.add(unwrapped(c));
        }
        return out;
    }

    private static org.apache.spark.sql.execution.SparkPlan unwrapped(org.apache.spark.sql.execution.SparkPlan n) {
        while (n instanceof org.apache.spark.sql.execution.WholeStageCodegenExec || n instanceof org.apache.spark.sql.execution.InputAdapter
                || n instanceof org.apache.spark.sql.execution.ColumnarToRowExec) {
            n = n.children().head();
        }
        return n;
    }

    private static double output(org.apache.spark.sql.execution.SparkPlan n, Map<org.apache.spark.sql.execution.SparkPlan, Double> memo) {
        Double known = memo.get(n);
        if (known != null) {
            return known;
        }
        List<org.apache.spark.sql.execution.SparkPlan> children = operatorChildren(n);
        double read = children.stream().mapToDouble(c -> output(c, memo)).sum();
        double rows = read;
        if (n.logicalLink().isDefined()) {
            org.apache.spark.sql.catalyst.plans.logical.LogicalPlan logical = n.logicalLink().get();
            org.apache.spark.sql.catalyst.plans.logical.Statistics stats = logical.stats();
            double own = stats.rowCount().isDefined() ? stats.rowCount().get().doubleValue()
                    : stats.sizeInBytes().doubleValue() / rowSize(logical);
            rows = children.isEmpty() ? own : Math.min(own, read);
        }
        memo.put(n, rows);
        return rows;
    }

    /** Bytes per row as Spark's estimates count them without column statistics: 8, plus each column's default size. */
    private static double rowSize(org.apache.spark.sql.catalyst.plans.logical.LogicalPlan logical) {
        double size = 8;
        for (org.apache.spark.sql.catalyst.expressions.Attribute a : scala.jdk.javaapi.CollectionConverters.asJava(logical.output())) {
            size += a.dataType().defaultSize();
        }
        return size;
    }

    /** The {@code --require} threshold text, "90%" or "90", as a percentage. */
    public static double parsePercent(String text) {
        String t = requireNonNull(text, "text is null").trim();
        t = t.endsWith("%") ? t.substring(0, t.length() - 1).trim() : t;
        try {
            double v = Double.parseDouble(t);
            if (v < 0 || v > 100 || Double.isNaN(v)) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new KilnException("--require '" + text + "' is not a percentage between 0 and 100 (e.g. --require 90%)");
        }
    }

    private final Lakehouse lakehouse;

    public GpuPlanReport(Lakehouse lakehouse) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
    }

    /** The plugin's explanation of a plan, as text; a clear error when the RAPIDS jar is not on the classpath. */
    public static String explain(Dataset<Row> plan) {
        Method m;
        try {
            m = Class.forName("com.nvidia.spark.rapids.ExplainPlan").getMethod("explainPotentialGpuPlan", Dataset.class, String.class);
        } catch (ClassNotFoundException | NoSuchMethodException e) {
            throw new KilnException("the RAPIDS Accelerator is not on the classpath (" + e + "): run scripts/fetch-rapids.sh"
                    + " and put the jar on the classpath with spark-submit --jars <jar>; bin/kiln gpu-plan does both", e);
        }
        try {
            return (String) m.invoke(null, plan, "ALL");
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            throw new KilnException("the RAPIDS Accelerator could not explain the plan: " + KilnException.firstLine(String.valueOf(cause)), cause);
        } catch (IllegalAccessException e) {
            throw new KilnException("the RAPIDS Accelerator could not be called: " + e, e);
        }
    }

    /** Parses the explanation; lines that are not operator lines are left out. */
    public static List<Entry> parse(String text) {
        List<Entry> out = new ArrayList<>();
        String[] lines = text.split("\\R");
        for (int i = 0; i < lines.length; i++) {
            Matcher m = LINE.matcher(lines[i]);
            if (!m.matches()) {
                continue;
            }
            String rest = " " + m.group(5);
            boolean onGpu = m.group(2).equals("*");
            String reason = null;
            String detail = rest;
            int will = rest.lastIndexOf(" will run on GPU");
            int because = rest.indexOf(" because ");
            if (because >= 0) {
                reason = rest.substring(because + " because ".length()).trim();
                detail = rest.substring(0, because);
                int verb = Math.max(detail.lastIndexOf(" cannot run on GPU"), Math.max(detail.lastIndexOf(" will not run on GPU"),
                        detail.lastIndexOf(" will run on GPU via CPU bridge")));
                detail = verb >= 0 ? detail.substring(0, verb) : detail;
            } else if (will >= 0) {
                detail = rest.substring(0, will);
            }
            String kind = m.group(3).isEmpty() ? "Expression" : m.group(3);
            out.add(new Entry(i + 1, m.group(1).length() / 2, kind, m.group(4), detail.trim(), onGpu, reason, m.group(2).equals("#")));
        }
        return out;
    }

    /** Explains one job's plan and appends its rows to reports.gpu_plan. */
    public List<Entry> record(String runId, String job, Dataset<Row> plan) {
        List<Entry> entries = parse(explain(plan));
        if (entries.isEmpty()) {
            throw new KilnException("the RAPIDS Accelerator explained the plan of '" + job + "' with no operator lines");
        }
        Timestamp now = Timestamp.from(Instant.now());
        List<Row> rows = new ArrayList<>();
        for (Entry e : entries) {
            rows.add(RowFactory.create(runId, job, e.line(), e.depth(), e.kind(), e.operator(), e.detail(), e.onGpu(), e.reason(), now));
        }
        lakehouse.createIfMissing(TABLE, SCHEMA, List.of(), "Which operators of each Kiln job the RAPIDS Accelerator"
                + " would run on a GPU, and why the others would stay on the CPU", Map.of());
        lakehouse.commits().append(TABLE, lakehouse.spark().createDataFrame(rows, SCHEMA).coalesce(1)).commit();
        return entries;
    }
}
