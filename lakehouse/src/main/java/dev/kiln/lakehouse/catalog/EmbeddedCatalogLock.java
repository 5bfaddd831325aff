package dev.kiln.lakehouse.catalog;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.KilnException;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The embedded Derby metastore admits one process at a time. Before a session touches it, this process takes an
 * exclusive OS lock on {@code <root>/_metastore.lock} and writes who it is into the file (pid, host, start time,
 * command, secrets masked); a second process finds the lock taken and stops at once with one line that names the
 * holder and the setting that lifts the limit, instead of Derby's XSDB6 errors and Hive's connection retries. It
 * also refuses while a process without this lock (e.g. {@code spark-sql} with {@code kiln catalog-conf}'s flags)
 * holds Derby's own {@code _metastore/dbex.lck}. The lock lasts as long as the process (the OS releases it when
 * the process ends, however it ends); taking it again in the same process is a no-op.
 */
public final class EmbeddedCatalogLock {
    /** Where the one-process limit is lifted; named in the refusal. */
    public static final String SHARED_SETTING = "kiln.lakehouse.catalog.type = postgres (or hive)";
    private static final Map<Path, FileChannel> HELD = new HashMap<>();
    private static final Pattern SECRET = Pattern.compile("(?i)([^\\s=]*(password|secret|token|credential)[^\\s=]*=)\\S+");

    private EmbeddedCatalogLock() {}

    /** Takes the lock of the embedded catalog under {@code root} (a local directory) for this process. */
    public static synchronized void acquire(Path root) {
        requireNonNull(root, "root is null");
        Path file = root.toAbsolutePath().normalize().resolve("_metastore.lock");
        if (HELD.containsKey(file)) {
            return;
        }
        try {
            Files.createDirectories(file.getParent());
            FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
            if (lock == null) {
                String holder = new String(Files.readAllBytes(file), StandardCharsets.UTF_8).trim();
                channel.close();
                throw new KilnException("the embedded catalog at " + root + " is in use by another process ("
                        + (holder.isEmpty() ? "holder unknown" : holder) + "); it admits one process at a time: wait for"
                        + " that one, or share the catalog with " + SHARED_SETTING);
            }
            refuseIfDerbyIsBooted(root, channel);
            channel.truncate(0);
            channel.write(ByteBuffer.wrap(describeThisProcess().getBytes(StandardCharsets.UTF_8)), 0);
            channel.force(false);
            HELD.put(file, channel); // kept open: closing the channel would release the lock
        } catch (IOException e) {
            throw new KilnException("cannot lock the embedded catalog (" + file + "): " + e.getMessage(), e);
        }
    }

    /** A process that opened Derby without Kiln's lock (spark-sql, a notebook) holds Derby's own exclusive lock. */
    private static void refuseIfDerbyIsBooted(Path root, FileChannel ours) throws IOException {
        Path dbex = root.toAbsolutePath().normalize().resolve("_metastore").resolve("dbex.lck");
        if (!Files.exists(dbex)) {
            return;
        }
        try (FileChannel derby = FileChannel.open(dbex, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            FileLock probe = derby.tryLock();
            if (probe != null) {
                probe.release();
                return;
            }
        } catch (IOException | RuntimeException e) {
            return; // Derby's lock file cannot be probed: let Derby decide
        }
        ours.close();
        throw new KilnException("the embedded catalog at " + root + " is in use by another process that opened its"
                + " Derby metastore directly (e.g. spark-sql or a notebook with kiln catalog-conf's flags); it admits one"
                + " process at a time: close that one, or share the catalog with " + SHARED_SETTING);
    }

    static String describeThisProcess() {
        ProcessHandle self = ProcessHandle.current();
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "unknown host";
        }
        String command = System.getProperty("sun.java.command", "");
        // The main class and the kiln command: settings (--conf k=v, --conf-dir, --env) left out, secrets masked,
        // and of a long command line its end, where the command is.
        String shown = SECRET.matcher(command.replaceAll("\\s--(conf|conf-dir|env)[ =]\\S+", "")).replaceAll("$1***");
        if (shown.length() > 240) {
            shown = "..." + shown.substring(shown.length() - 240);
        }
        return "pid " + self.pid() + " on " + host + " since " + Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                + ": " + shown;
    }

    /** Whether this process holds the lock of the embedded catalog under {@code root}. */
    public static synchronized boolean heldHere(Path root) {
        return HELD.containsKey(root.toAbsolutePath().normalize().resolve("_metastore.lock"));
    }
}
