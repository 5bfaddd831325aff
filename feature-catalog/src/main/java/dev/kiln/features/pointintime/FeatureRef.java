package dev.kiln.features.pointintime;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.KilnException;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A reference to one feature, Feast-style: {@code set:feature} or {@code set@version:feature}. */
public record FeatureRef(String set, Optional<Integer> version, String feature) {
    private static final Pattern FORMAT = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)(?:@v?([0-9]+))?:([A-Za-z_][A-Za-z0-9_]*)");

    public FeatureRef {
        requireNonNull(set, "set is null");
        requireNonNull(version, "version is null");
        requireNonNull(feature, "feature is null");
    }

    public static FeatureRef parse(String text) {
        Matcher m = FORMAT.matcher(text == null ? "" : text.trim());
        if (!m.matches()) {
            throw new KilnException("feature reference '" + text + "' must look like set:feature or set@2:feature");
        }
        return new FeatureRef(m.group(1).toLowerCase(java.util.Locale.ROOT),
                Optional.ofNullable(m.group(2)).map(Integer::parseInt), m.group(3).toLowerCase(java.util.Locale.ROOT));
    }

    /** The column a point-in-time join gives this feature: {@code <set>__<feature>}. */
    public String column() {
        return column(set, feature);
    }

    /** The column that tells an event had no fresh row of this feature's set: {@code <set>__missing}. */
    public String missingColumn() {
        return missingColumn(set);
    }

    public static String column(String set, String feature) {
        return set + "__" + feature;
    }

    public static String missingColumn(String set) {
        return set + "__missing";
    }

    /** The version of a resolved reference ({@code set@2:feature}); refuses an unresolved one. */
    public int resolvedVersion() {
        return version.orElseThrow(() -> new KilnException("feature reference '" + this + "' names no version"));
    }

    @Override
    public String toString() {
        return set + version.map(v -> "@" + v).orElse("") + ":" + feature;
    }
}
