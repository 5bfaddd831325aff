package dev.kiln.training.spec;

import dev.kiln.lakehouse.KilnException;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;
import org.apache.spark.ml.Predictor;
import org.apache.spark.ml.classification.GBTClassifier;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.classification.RandomForestClassifier;
import org.apache.spark.ml.regression.GBTRegressor;
import org.apache.spark.ml.regression.LinearRegression;
import org.apache.spark.ml.regression.RandomForestRegressor;

/** The MLlib algorithms a model spec can name, per task. */
public enum Algorithm {
    LOGISTIC_REGRESSION("logistic-regression", Task.BINARY_CLASSIFICATION),
    RANDOM_FOREST("random-forest", null),
    GBT("gbt", null),
    LINEAR_REGRESSION("linear-regression", Task.REGRESSION);

    private final String text;
    private final Task only;

    Algorithm(String text, Task only) {
        this.text = text;
        this.only = only;
    }

    public String text() {
        return text;
    }

    public static Algorithm parse(String text, Task task, String at) {
        for (Algorithm a : values()) {
            if (a.text.equals(text.toLowerCase(Locale.ROOT))) {
                if (a.only != null && a.only != task) {
                    throw new KilnException(at + ": " + text + " does not fit a " + task.text() + " model (fits: "
                            + known(task) + ")");
                }
                return a;
            }
        }
        throw new KilnException(at + ": unknown algorithm '" + text + "' (known for " + task.text() + ": " + known(task) + ")");
    }

    private static String known(Task task) {
        return Arrays.stream(values()).filter(a -> a.only == null || a.only == task).map(Algorithm::text)
                .collect(Collectors.joining(", "));
    }

    /** A fresh estimator reading {@code features} and {@code label} columns. */
    public Predictor<?, ?, ?> estimator(Task task, String features, String label, long seed) {
        boolean classify = task == Task.BINARY_CLASSIFICATION;
        Predictor<?, ?, ?> p = switch (this) {
            case LOGISTIC_REGRESSION -> new LogisticRegression();
            case LINEAR_REGRESSION -> new LinearRegression();
            case RANDOM_FOREST -> classify ? new RandomForestClassifier().setSeed(seed) : new RandomForestRegressor().setSeed(seed);
            case GBT -> classify ? new GBTClassifier().setSeed(seed) : new GBTRegressor().setSeed(seed);
        };
        p.set(p.getParam("featuresCol"), features);
        p.set(p.getParam("labelCol"), label);
        return p;
    }
}
