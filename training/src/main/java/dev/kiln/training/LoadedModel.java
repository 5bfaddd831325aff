package dev.kiln.training;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.training.registry.ModelVersion;
import dev.kiln.training.spec.Task;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/** A registered model version with its saved pipeline loaded, and the signature that says what it reads. */
public final class LoadedModel {
    private final ModelVersion version;
    private final PipelineModel pipeline;
    private final ModelSignature signature;

    private LoadedModel(ModelVersion version, PipelineModel pipeline, ModelSignature signature) {
        this.version = requireNonNull(version, "version is null");
        this.pipeline = requireNonNull(pipeline, "pipeline is null");
        this.signature = requireNonNull(signature, "signature is null");
    }

    /** Loads the version's artifact; a missing or unreadable artifact is a clear error naming the model. */
    public static LoadedModel load(ModelVersion version) {
        PipelineModel pipeline;
        try {
            pipeline = PipelineModel.load(pipelinePath(version));
        } catch (Exception e) {
            throw new KilnException("cannot load " + version.uri() + " from " + version.artifactPath() + ": "
                    + KilnException.firstLine(e.getMessage()), e);
        }
        Task task = Task.parse(version.task(), version.uri().toString());
        return new LoadedModel(version, pipeline, ModelSignature.of(task, version.featureRefs(), pipeline));
    }

    /**
     * Where a version's PipelineModel is: {@code <artifact>/sparkml} (MLflow's layout, versions trained since Kiln
     * writes MLflow's files), else the artifact directory itself (versions saved before).
     */
    public static String pipelinePath(ModelVersion version) {
        String inside = version.artifactPath() + "/" + dev.kiln.training.registry.MlflowModel.SPARK_MODEL_DIR;
        try {
            org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(inside, "metadata");
            org.apache.spark.sql.SparkSession spark = org.apache.spark.sql.SparkSession.active();
            return p.getFileSystem(spark.sparkContext().hadoopConfiguration()).exists(p) ? inside : version.artifactPath();
        } catch (java.io.IOException e) {
            throw new KilnException("cannot check " + inside + ": " + e.getMessage(), e);
        }
    }

    public ModelVersion version() {
        return version;
    }

    public PipelineModel pipeline() {
        return pipeline;
    }

    public ModelSignature signature() {
        return signature;
    }

    /**
     * The rows with the model's output columns added (not computed until an action); rows that lack an input
     * are refused up front, naming the column.
     */
    public Dataset<Row> transform(Dataset<Row> rows, String what) {
        java.util.List<String> available = java.util.List.of(rows.columns());
        for (String c : signature.inputs()) {
            if (!available.contains(c)) {
                throw new KilnException("input '" + c + "' of " + version.uri() + " is missing from " + what
                        + " (columns: " + available + ")");
            }
        }
        try {
            return pipeline.transform(rows);
        } catch (Exception e) { // a column the model reads has another type in the current data
            throw new KilnException(version.uri() + " cannot score " + what + ": " + KilnException.firstLine(e.getMessage()), e);
        }
    }
}
