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
}
