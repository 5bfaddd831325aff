package dev.kiln.training.registry;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.lakehouse.KilnException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;

/**
 * A model version's directory as an MLflow model: the {@code MLmodel} file with the {@code spark} flavor (the saved
 * PipelineModel under {@code model_data}) and the {@code python_function} flavor ({@code loader_module: mlflow.spark}),
 * the signature (the columns the pipeline reads, with their types, and the prediction), a {@code model_uuid} and the
 * creation time, beside {@code requirements.txt}, {@code python_env.yaml} and {@code conda.yaml}. So
 * {@code mlflow.spark.load_model(<dir>)} and {@code mlflow.pyfunc.load_model(<dir>)} load what Kiln registered.
 */
public final class MlflowModel {
    public static final String FILE = "MLmodel";
    /** Where a version trained since Kiln writes MLflow's files keeps its PipelineModel (MLflow's own layout). */
    public static final String SPARK_MODEL_DIR = "sparkml";
    /** The pyspark and Python lines the saved pipeline is for (Kiln's jar is built for Spark 4.0.1). */
    public static final String PYSPARK_VERSION = "4.0.1";
    public static final String MLFLOW_VERSION = "3.17.2";
    private static final String PYTHON_VERSION = "3.11";
    private static final DateTimeFormatter CREATED = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS").withZone(ZoneOffset.UTC);

    private MlflowModel() {
    }

    /** Whether {@code dir} holds an {@code MLmodel} file. */
    public static boolean exists(String dir, Configuration hadoop) {
        try {
            Path p = new Path(dir, FILE);
            return p.getFileSystem(hadoop).exists(p);
        } catch (IOException e) {
            throw new KilnException("cannot check " + dir + "/" + FILE + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes MLflow's files into {@code dir}, whose PipelineModel is at {@code modelData} (relative: {@value #SPARK_MODEL_DIR},
     * or {@code .} for versions saved before, whose pipeline is the directory itself). {@code inputs}: the columns the
     * pipeline reads and their Spark types, in order. Replaces files already there.
     */
    public static void write(String dir, String modelData, Map<String, DataType> inputs, Instant created, String uuid,
            Configuration hadoop) {
        requireNonNull(inputs, "inputs is null");
        ObjectMapper json = new ObjectMapper();
        ArrayNode in = json.createArrayNode();
        inputs.forEach((name, type) -> {
            ObjectNode c = in.addObject();
            c.put("type", mlflowType(name, type));
            c.put("name", name);
            c.put("required", true);
        });
        ArrayNode out = json.createArrayNode();
        out.addObject().put("type", "double").put("name", "prediction").put("required", true);
        String mlmodel = String.join("\n",
                "artifact_path: null",
                "flavors:",
                "  python_function:",
                "    conda: conda.yaml",
                "    data: " + modelData,
                "    env:",
                "      conda: conda.yaml",
                "      virtualenv: python_env.yaml",
                "    loader_module: mlflow.spark",
                "    python_version: '" + PYTHON_VERSION + "'",
                "  spark:",
                "    code: null",
                "    model_class: pyspark.ml.pipeline.PipelineModel",
                "    model_data: " + modelData,
                "    pyspark_version: " + PYSPARK_VERSION,
                "mlflow_version: " + MLFLOW_VERSION,
                "model_uuid: " + uuid,
                "signature:",
                "  inputs: '" + in.toString().replace("'", "''") + "'",
                "  outputs: '" + out.toString().replace("'", "''") + "'",
                "  params: null",
                "utc_time_created: '" + CREATED.format(created) + "'",
                "");
        Map<String, String> files = new LinkedHashMap<>();
        files.put(FILE, mlmodel);
        files.put("requirements.txt", "mlflow==" + MLFLOW_VERSION + "\npyspark==" + PYSPARK_VERSION + "\n");
        files.put("python_env.yaml", String.join("\n", "python: '" + PYTHON_VERSION + "'", "build_dependencies:", "- pip",
                "- setuptools", "- wheel", "dependencies:", "- -r requirements.txt", ""));
        files.put("conda.yaml", String.join("\n", "channels:", "- conda-forge", "dependencies:", "- python=" + PYTHON_VERSION,
                "- pip", "- pip:", "  - mlflow==" + MLFLOW_VERSION, "  - pyspark==" + PYSPARK_VERSION, "name: mlflow-env", ""));
        try {
            FileSystem fs = new Path(dir).getFileSystem(hadoop);
            for (Map.Entry<String, String> f : files.entrySet()) {
                try (OutputStream o = fs.create(new Path(dir, f.getKey()), true)) {
                    o.write(f.getValue().getBytes(StandardCharsets.UTF_8));
                }
            }
        } catch (IOException e) {
            throw new KilnException("could not write the MLflow model files to " + dir + ": " + e.getMessage(), e);
        }
    }

    /** A new model_uuid: 32 hex digits, as MLflow writes them. */
    public static String newUuid() {
        return java.util.UUID.randomUUID().toString().replace("-", "");
    }

    /** MLflow's column type for a Spark type (its ColSpec types). */
    static String mlflowType(String column, DataType type) {
        if (type.equals(DataTypes.BooleanType)) {
            return "boolean";
        }
        if (type.equals(DataTypes.IntegerType) || type.equals(DataTypes.ShortType) || type.equals(DataTypes.ByteType)) {
            return "integer";
        }
        if (type.equals(DataTypes.LongType)) {
            return "long";
        }
        if (type.equals(DataTypes.FloatType)) {
            return "float";
        }
        if (type.equals(DataTypes.DoubleType) || type instanceof org.apache.spark.sql.types.DecimalType) {
            return "double";
        }
        if (type.equals(DataTypes.StringType)) {
            return "string";
        }
        if (type.equals(DataTypes.BinaryType)) {
            return "binary";
        }
        if (type.equals(DataTypes.TimestampType) || type.equals(DataTypes.TimestampNTZType) || type.equals(DataTypes.DateType)) {
            return "datetime";
        }
        throw new KilnException("model input '" + column + "' is " + type.sql() + ", which an MLflow signature cannot describe");
    }
}
