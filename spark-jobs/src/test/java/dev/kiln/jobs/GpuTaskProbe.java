package dev.kiln.jobs;

import java.util.List;
import java.util.Map;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.sql.SparkSession;

/**
 * A small Spark application for StandaloneClusterIT: runs a few tasks and prints, for each, the GPU addresses
 * Spark assigned it ({@code TaskContext.resources()}) and the executor it ran in, as lines
 * {@code gpu-task partition=P executor=E addresses=A,B}. Spark's GPU scheduling only; it uses no GPU.
 */
public final class GpuTaskProbe {
    private GpuTaskProbe() {}

    public static void main(String[] args) {
        int tasks = Integer.parseInt(args[0]);
        SparkSession spark = SparkSession.builder().appName("kiln-gpu-task-probe").getOrCreate();
        try {
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            List<String> seen = jsc.parallelize(java.util.stream.IntStream.range(0, tasks).boxed().toList(), tasks).map(i -> {
                Map<String, ResourceInformation> resources = scala.jdk.javaapi.CollectionConverters.asJava(TaskContext.get().resources());
                ResourceInformation gpu = resources.get("gpu");
                Thread.sleep(500); // holds its slot a moment, so that every executor gets tasks
                return "gpu-task partition=" + TaskContext.getPartitionId() + " executor=" + SparkEnv.get().executorId()
                        + " addresses=" + (gpu == null ? "" : String.join(",", gpu.addresses()));
            }).collect();
            seen.forEach(System.out::println);
        } finally {
            spark.stop();
        }
    }
}
