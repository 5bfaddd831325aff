package dev.kiln.training.spec;

import dev.kiln.lakehouse.config.ConfigException;
import java.util.Locale;

/**
 * A binary classifier's optional calibration ({@code models.<name>.calibration}), fitted on the validation window
 * after the grid's best model was chosen and saved as the pipeline's last stage: {@code isotonic} maps the model's
 * probability through a non-decreasing step function fitted to the outcomes (MLlib's isotonic regression). Scoring
 * then writes the calibrated probability as {@code score} and the model's own as {@code raw_score}.
 */
public enum Calibration {
    NONE, ISOTONIC;

    public String text() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Calibration parse(String text, String path) {
        for (Calibration c : values()) {
            if (c.text().equals(text.toLowerCase(Locale.ROOT))) {
                return c;
            }
        }
        throw new ConfigException(path, "unknown calibration '" + text + "' (known: none, isotonic)");
    }
}
