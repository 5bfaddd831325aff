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
import picocli.CommandLine.Option;
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

    @Option(names = "--require", paramLabel = "N%", description = "Exit non-zero, naming the job, when a job has less"
            + " than N%% of its operators on the GPU (the share: MLlib model stages and operators held on the CPU only by"
            + " a feature kind with no GPU form, approx_distinct, are counted apart; all-in counts the latter too).")
    String require;

    @Override
    public Integer call() {
        Double required = require == null ? null : GpuPlanReport.parsePercent(require);
        List<String> below = new java.util.ArrayList<>();
        try (KilnContext ctx = parent.open(global)) {
            Lakehouse lakehouse = ctx.lakehouse();
            Map<String, Supplier<Dataset<Row>>> jobs = ctx.kiln().plans();
            String runId = java.util.UUID.randomUUID().toString();
            GpuPlanReport report = new GpuPlanReport(lakehouse);
            ctx.out().println("GPU plan (RAPIDS Accelerator, explain only), run " + runId + " -> " + GpuPlanReport.TABLE);
            ctx.out().printf("  %-52s %9s %7s %6s %7s %7s %7s %7s %7s%n", "job", "operators", "on GPU", "MLlib", "no-form", "removed",
                    "share", "all-in", "rows");
            for (Map.Entry<String, Supplier<Dataset<Row>>> job : jobs.entrySet()) {
                Dataset<Row> plan;
                try {
                    plan = job.getValue().get();
                } catch (KilnException e) {
                    ctx.out().printf("  %-52s skipped: %s%n", job.getKey(), e.getMessage());
                    continue;
                }
                List<GpuPlanReport.Entry> entries = report.record(runId, job.getKey(), plan);
                java.util.Optional<List<Double>> rows = GpuPlanReport.rowsRead(plan,
                        entries.stream().filter(e -> e.kind().equals("Exec")).map(GpuPlanReport.Entry::operator).toList());
                GpuPlanReport.Summary s = GpuPlanReport.Summary.of(job.getKey(), entries, rows);
                ctx.out().printf("  %-52s %9d %7d %6d %7d %7d %6.1f%% %6.1f%% %7s%n", job.getKey(), s.operators(), s.onGpu(),
                        s.mllibStages(), s.noGpuForm(), s.removed(), s.gpuShare(), s.sqlShare(),
                        s.rowsShare() == null ? "n/a" : String.format("%.1f%%", s.rowsShare()));
                s.reasons().entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                        .forEach(r -> ctx.out().printf("      CPU x%d  %s%n", r.getValue(), abbreviate(r.getKey(), 150)));
                if (required != null && s.gpuShare() < required) {
                    below.add(String.format("%s (%.1f%%)", job.getKey(), s.gpuShare()));
                }
            }
            ctx.out().println("Query: bin/kiln sql \"SELECT job, operator, reason FROM reports.gpu_plan WHERE run_id = '"
                    + runId + "' AND NOT on_gpu\"");
            if (!below.isEmpty()) {
                throw new KilnException("below the required " + require + " of operators on the GPU: "
                        + String.join(", ", below) + " (reasons above; reports.gpu_plan has every operator)");
            }
        }
        return ExitCodes.OK;
    }

    private static String abbreviate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 3) + "...";
    }
}
