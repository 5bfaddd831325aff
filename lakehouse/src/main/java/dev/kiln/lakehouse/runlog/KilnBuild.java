package dev.kiln.lakehouse.runlog;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** The Kiln build this JVM runs: the git commit the jar was built from, embedded by Maven at build time. */
public final class KilnBuild {
    private static final String RESOURCE = "kiln-build.properties";
    private static final String VERSION = load();

    private KilnBuild() {}

    /**
     * The full git commit id, with {@code -dirty} when the build had uncommitted changes; {@code unknown} for
     * a build made outside a git checkout.
     */
    public static String version() {
        return VERSION;
    }

    private static String load() {
        Properties p = new Properties();
        try (InputStream in = KilnBuild.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                return "unknown";
            }
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE + " from the Kiln jar", e);
        }
        String commit = p.getProperty("commit", "");
        if (commit.isBlank() || commit.startsWith("${")) { // not filled in: no git when it was built
            return "unknown";
        }
        return "true".equals(p.getProperty("dirty")) ? commit + "-dirty" : commit;
    }
}
