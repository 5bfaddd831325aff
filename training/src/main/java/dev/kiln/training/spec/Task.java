package dev.kiln.training.spec;

import dev.kiln.lakehouse.KilnException;
import java.util.Locale;

/** What a model predicts. */
public enum Task {
    BINARY_CLASSIFICATION("binary-classification", "areaUnderROC"),
    REGRESSION("regression", "rmse");

    private final String text;
    private final String defaultMetric;

    Task(String text, String defaultMetric) {
        this.text = text;
        this.defaultMetric = defaultMetric;
    }

    public String text() {
        return text;
    }

    public String defaultMetric() {
        return defaultMetric;
    }

    public static Task parse(String text, String at) {
        for (Task t : values()) {
            if (t.text.equals(text.toLowerCase(Locale.ROOT))) {
                return t;
            }
        }
        throw new KilnException(at + ": unknown task '" + text + "' (known: binary-classification, regression)");
    }
}
