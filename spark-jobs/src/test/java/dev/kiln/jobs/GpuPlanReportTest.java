package dev.kiln.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kiln.jobs.gpu.GpuPlanReport;
import dev.kiln.jobs.gpu.GpuPlanReport.Entry;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The RAPIDS explanation format, parsed into report rows (the real plugin's output is checked by hand: see README). */
class GpuPlanReportTest {
    @Test
    void parsesOperatorsVerdictsAndReasons() {
        String text = """
                *Exec <ProjectExec> will run on GPU
                  *Expression <Alias> (id#0L % 7) AS k#1L will run on GPU
                  !Expression <ScalaUDF> UDF(features#3) cannot run on GPU because neither UDF implemented by class x provides a GPU implementation
                  !Exec <SortMergeJoinExec> cannot run on GPU because not all expressions can be replaced; unsupported join type
                    @Expression <AttributeReference> k#1L could run on GPU
                some other line the plugin printed
                """;
        List<Entry> entries = GpuPlanReport.parse(text);
        assertEquals(List.of(
                new Entry(1, 0, "Exec", "ProjectExec", "", true, null),
                new Entry(2, 1, "Expression", "Alias", "(id#0L % 7) AS k#1L", true, null),
                new Entry(3, 1, "Expression", "ScalaUDF", "UDF(features#3)", false,
                        "neither UDF implemented by class x provides a GPU implementation"),
                new Entry(4, 1, "Exec", "SortMergeJoinExec", "", false, "not all expressions can be replaced; unsupported join type"),
                new Entry(5, 2, "Expression", "AttributeReference", "k#1L could run on GPU", false, null)), entries);
    }

    @Test
    void sharesCountMllibStagesApartAndRequireParsesPercentages() {
        String text = """
                !Exec <ProjectExec> cannot run on GPU because not all expressions can be replaced
                  !Expression <ScalaUDF> UDF(features#3) cannot run on GPU because neither UDF implemented by class x provides a GPU implementation
                  *Exec <ProjectExec> will run on GPU
                    *Expression <Alias> x#1 AS y#2 will run on GPU
                    *Exec <FilterExec> will run on GPU
                      !Exec <ObjectHashAggregateExec> cannot run on GPU because not all expressions can be replaced
                        @Expression <AggregateExpression> hll_sketch_agg(v#9L, 12, 0, 0) could run on GPU
                          ! <HllSketchAgg> hll_sketch_agg(v#9L, 12, 0, 0) cannot run on GPU because no GPU form
                      !Exec <SortMergeJoinExec> cannot run on GPU because some reason
                        #Exec <SortExec> could run on GPU but is going to be removed because replacing sortMergeJoin with shuffleHashJoin
                          #Expression <SortOrder> k#1 ASC NULLS FIRST could run on GPU but is going to be removed because parent plan is removed
                """;
        GpuPlanReport.Summary s = GpuPlanReport.Summary.of("job", GpuPlanReport.parse(text));
        assertEquals(5, s.operators());
        assertEquals(2, s.onGpu());
        assertEquals(1, s.mllibStages());
        assertEquals(1, s.noGpuForm());
        assertEquals(1, s.removed()); // the sort is dropped from the GPU plan: neither on the GPU nor on the CPU
        assertEquals(List.of(), s.reasons().keySet().stream().filter(r -> r.startsWith("Sort") && !r.startsWith("SortMergeJoinExec")).toList());
        assertEquals(100.0 * 2 / 3, s.gpuShare(), 1e-9);
        assertEquals(100.0 * 2 / 4, s.sqlShare(), 1e-9);
        assertEquals(1L, s.reasons().get("HllSketchAgg: no GPU form"));
        assertEquals(1L, s.reasons().get("SortMergeJoinExec: some reason"));
        assertEquals(90.0, GpuPlanReport.parsePercent("90%"), 0.0);
        assertEquals(87.5, GpuPlanReport.parsePercent(" 87.5 "), 0.0);
        org.junit.jupiter.api.Assertions.assertThrows(dev.kiln.lakehouse.KilnException.class, () -> GpuPlanReport.parsePercent("ninety"));
        org.junit.jupiter.api.Assertions.assertThrows(dev.kiln.lakehouse.KilnException.class, () -> GpuPlanReport.parsePercent("120%"));
    }

    @Test
    void rowsReadFollowTheExplainedOperatorsAndNeverExceedWhatFlowsIn() {
        org.apache.spark.sql.SparkSession spark = dev.kiln.lakehouse.TestLakehouse.get().spark();
        org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> plan = spark.range(1000).filter("id % 10 = 0")
                .groupBy(org.apache.spark.sql.functions.expr("id % 3")).count();
        // The operators as the plugin explains them: pre-order, exchanges included, no code-generation wrappers.
        List<String> explained = List.of("HashAggregateExec", "ShuffleExchangeExec", "HashAggregateExec", "ProjectExec",
                "FilterExec", "RangeExec");
        List<Double> rows = GpuPlanReport.rowsRead(plan, explained).orElseThrow(
                () -> new AssertionError("the plan's operators line up with " + explained + ": " + plan.queryExecution().executedPlan()));
        assertEquals(explained.size(), rows.size());
        assertEquals(1000.0, rows.get(5), 0.0); // the range's own rows
        assertEquals(1000.0, rows.get(4), 0.0); // the filter reads them all
        for (double r : rows) {
            org.junit.jupiter.api.Assertions.assertTrue(r >= 0 && r <= 1000.0, rows.toString());
        }
        org.junit.jupiter.api.Assertions.assertTrue(GpuPlanReport.rowsRead(plan, explained.subList(1, explained.size())).isEmpty());

        // Operators on the GPU weighted by those rows: the CPU filter reads 1,000 of the rows' work.
        String text = """
                *Exec <HashAggregateExec> will run on GPU
                  *Exec <ShuffleExchangeExec> will run on GPU
                    *Exec <HashAggregateExec> will run on GPU
                      *Exec <ProjectExec> will run on GPU
                        !Exec <FilterExec> cannot run on GPU because some reason
                          *Exec <RangeExec> will run on GPU
                """;
        GpuPlanReport.Summary s = GpuPlanReport.Summary.of("job", GpuPlanReport.parse(text), java.util.Optional.of(rows));
        double total = rows.stream().mapToDouble(Double::doubleValue).sum();
        assertEquals(100.0 * (total - 1000.0) / total, s.rowsShare(), 1e-9);
        assertEquals(100.0 * 5 / 6, s.gpuShare(), 1e-9);
    }
}
