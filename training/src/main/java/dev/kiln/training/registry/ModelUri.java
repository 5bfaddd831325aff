package dev.kiln.training.registry;

import dev.kiln.lakehouse.KilnException;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A model named MLflow-style: {@code models:/<name>/<version>} or {@code models:/<name>@<alias>}. */
public record ModelUri(String name, Optional<Integer> version, Optional<String> alias) {
    private static final Pattern FORMAT = Pattern.compile("models:/([A-Za-z_][A-Za-z0-9_]*)(?:/([0-9]+)|@([A-Za-z_][A-Za-z0-9_]*))");

    public static ModelUri parse(String text) {
        Matcher m = FORMAT.matcher(text == null ? "" : text.trim());
        if (!m.matches()) {
            throw new KilnException("model URI '" + text + "' must look like models:/<name>/<version> or models:/<name>@<alias>");
        }
        return new ModelUri(m.group(1), Optional.ofNullable(m.group(2)).map(Integer::parseInt), Optional.ofNullable(m.group(3)));
    }

    @Override
    public String toString() {
        return "models:/" + name + version.map(v -> "/" + v).orElse("") + alias.map(a -> "@" + a).orElse("");
    }
}
