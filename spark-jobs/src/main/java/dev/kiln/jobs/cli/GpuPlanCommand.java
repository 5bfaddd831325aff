package dev.kiln.jobs.cli;

import dev.kiln.features.definition.FeatureSetSpec;
import dev.kiln.features.definition.FeatureSets;
import dev.kiln.features.materialize.Materializer;
import dev.kiln.features.trainingset.TrainingSet;
import dev.kiln.features.trainingset.TrainingSetRegistry;
import dev.kiln.features.trainingset.TrainingSetSpec;
import dev.kiln.jobs.gpu.GpuPlanReport;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.ingest.DatasetSpec;
import dev.kiln.lakehouse.ingest.Ingestion;
import dev.kiln.training.registry.ModelRegistry;
import dev.kiln.training.registry.ModelUri;
import dev.kiln.training.registry.ModelVersion;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

@Command(name = "gpu-plan", mixinStandardHelpOptions = true, description = {"For each Kiln job of the configured pipelines (ingest, feature"
        + " materialization, training-set build, the champion model's transform), ask the RAPIDS Accelerator which"
        + " operators would run on a GPU and why the others would stay on the CPU; write reports.gpu_plan and print a"
        + " summary. Needs no GPU; needs the RAPIDS jar on the classpath (bin/kiln adds it; spark-submit --jars)."})
final class GpuPlanCommand implements Callable<Integer> {
    @ParentCommand
    KilnCommand parent;

    @Mixin
    GlobalOptions global;

    @Override
    public Integer call() {
        try (KilnContext ctx = parent.open(global)) {
            Lakehouse lakehouse = ctx.lakehouse();
            Map<String, Supplier<Dataset<Row>>> jobs = ctx.kiln().plans();
            String runId = java.util.UUID.randomUUID().toString();
            GpuPlanReport report = new GpuPlanReport(lakehouse);
            ctx.out().println("GPU plan (RAPIDS Accelerator, explain only), run " + runId + " -> " + GpuPlanReport.TABLE);
            for (Map.Entry<String, Supplier<Dataset<Row>>> job : jobs.entrySet()) {
                Dataset<Row> plan;
                try {
                    plan = job.getValue().get();
                } catch (KilnException e) {
                    ctx.out().printf("  %-48s skipped: %s%n", job.getKey(), e.getMessage());
                    continue;
                }
                List<GpuPlanReport.Entry> entries = report.record(runId, job.getKey(), plan);
                List<GpuPlanReport.Entry> execs = entries.stream().filter(e -> e.kind().equals("Exec")).toList();
                long onGpu = execs.stream().filter(GpuPlanReport.Entry::onGpu).count();
                long exprOff = entries.stream().filter(e -> !e.kind().equals("Exec") && !e.onGpu()).count();
                ctx.out().printf("  %-48s %d of %d operators on the GPU, %d expressions stay on the CPU%n", job.getKey(),
                        onGpu, execs.size(), exprOff);
                Map<String, Long> reasons = entries.stream().filter(e -> !e.onGpu() && e.reason() != null)
                        .collect(Collectors.groupingBy(e -> e.operator() + ": " + e.reason(), TreeMap::new, Collectors.counting()));
                reasons.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(5)
                        .forEach(r -> ctx.out().printf("      CPU x%d  %s%n", r.getValue(), abbreviate(r.getKey(), 150)));
            }
            ctx.out().println("Query: bin/kiln sql \"SELECT job, operator, reason FROM reports.gpu_plan WHERE run_id = '"
                    + runId + "' AND NOT on_gpu\"");
        }
        return ExitCodes.OK;
    }

    private static String abbreviate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 3) + "...";
    }
}
