package dev.kiln.lakehouse.fs;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;

/**
 * Hadoop's local file system ({@code file:}) without a process per file. Without Hadoop's native library,
 * {@link RawLocalFileSystem} runs {@code chmod} for every file and directory it creates and {@code readlink}
 * twice for every rename: a bench pipeline run started ~3,800 processes, most of them from tasks writing
 * Parquet files and from Delta commits. This does the same through {@code java.nio}: same permissions, same
 * checksum files, no fork. Modes NIO cannot express (sticky, setuid) and symbolic links still go to Hadoop.
 *
 * <p>Set with {@code spark.hadoop.fs.file.impl} (this class, for {@code FileSystem} callers such as Parquet
 * writers) and {@code spark.hadoop.fs.AbstractFileSystem.file.impl} ({@link NioLocalFs}, for
 * {@code FileContext} callers such as Delta's log store).
 */
public class NioLocalFileSystem extends LocalFileSystem {
    public NioLocalFileSystem() {
        super(new Raw());
    }

    /** The raw (checksum-less) layer, also used by {@link NioLocalFs}. */
    public static class Raw extends RawLocalFileSystem {
        @Override
        public void setPermission(Path p, FsPermission permission) throws IOException {
            short mode = permission.toShort();
            if ((mode & ~0777) != 0) {
                super.setPermission(p, permission);
                return;
            }
            try {
                Files.setPosixFilePermissions(pathToFile(p).toPath(), posix(mode));
            } catch (UnsupportedOperationException e) { // not a POSIX file system
                super.setPermission(p, permission);
            }
        }

        @Override
        public FileStatus getFileLinkStatus(Path f) throws IOException {
            File file = pathToFile(f);
            if (Files.isSymbolicLink(file.toPath())) {
                return super.getFileLinkStatus(f);
            }
            return getFileStatus(f); // what Hadoop returns for a path that is not a link, after its readlink
        }
    }

    static Set<PosixFilePermission> posix(int mode) {
        PosixFilePermission[] bits = {
            PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
            PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ,
        };
        Set<PosixFilePermission> out = EnumSet.noneOf(PosixFilePermission.class);
        for (int i = 0; i < bits.length; i++) {
            if ((mode & (1 << i)) != 0) {
                out.add(bits[i]);
            }
        }
        return out;
    }
}
