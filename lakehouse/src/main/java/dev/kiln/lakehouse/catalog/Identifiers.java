package dev.kiln.lakehouse.catalog;

import java.util.Locale;
import java.util.regex.Pattern;

/** Validation of the plain identifiers Kiln accepts for schemas, tables, datasets and columns. */
public final class Identifiers {
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");

    private Identifiers() {}

    public static boolean isPlain(String s) {
        return s != null && PLAIN.matcher(s).matches();
    }

    /** Returns the identifier lower-cased, or throws naming what it was for. */
    public static String require(String s, String what) {
        if (!isPlain(s)) {
            throw new IllegalArgumentException(what + " '" + s + "' is not a plain identifier"
                    + " (letters, digits and '_', not starting with a digit)");
        }
        return s.toLowerCase(Locale.ROOT);
    }

    /** Back-quotes a validated identifier for SQL. */
    public static String quote(String identifier) {
        return "`" + require(identifier, "identifier") + "`";
    }
}
