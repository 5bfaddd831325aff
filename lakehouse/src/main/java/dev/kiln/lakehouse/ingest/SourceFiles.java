package dev.kiln.lakehouse.ingest;

import dev.kiln.lakehouse.KilnException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.hadoop.fs.LocatedFileStatus;

/** The files a dataset's source path or glob matches right now: one ingest batch. */
record SourceFiles(List<FileStatus> files) {

    static SourceFiles list(String pathOrGlob, Configuration hadoopConf) {
        Path pattern = new Path(pathOrGlob);
        List<FileStatus> out = new ArrayList<>();
        try {
            FileSystem fs = pattern.getFileSystem(hadoopConf);
            FileStatus[] matched = fs.globStatus(pattern);
            if (matched == null || matched.length == 0) {
                throw new KilnException("source path " + pathOrGlob + " does not exist or matches no files");
            }
            for (FileStatus st : matched) {
                if (st.isDirectory()) {
                    RemoteIterator<LocatedFileStatus> it = fs.listFiles(st.getPath(), true);
                    while (it.hasNext()) {
                        LocatedFileStatus f = it.next();
                        if (isDataFile(f.getPath())) {
                            out.add(f);
                        }
                    }
                } else if (isDataFile(st.getPath())) {
                    out.add(st);
                }
            }
        } catch (IOException e) {
            throw new KilnException("cannot list source path " + pathOrGlob + ": " + e.getMessage(), e);
        }
        if (out.isEmpty()) {
            throw new KilnException("source path " + pathOrGlob + " holds no data files");
        }
        out.sort(Comparator.comparing(f -> f.getPath().toString()));
        for (FileStatus f : out) {
            if (f.getLen() == 0) {
                throw new KilnException("source file " + f.getPath() + " is empty (0 bytes); nothing was written");
            }
        }
        return new SourceFiles(List.copyOf(out));
    }

    private static boolean isDataFile(Path p) {
        String name = p.getName();
        return !name.startsWith(".") && !name.startsWith("_");
    }

    /** The file's name as a URI, as Spark's {@code _metadata.file_path} gives it: {@code file:/x} for local files. */
    String sourceFileName(int index) {
        java.net.URI uri = files.get(index).getPath().toUri();
        if ("file".equals(uri.getScheme()) && (uri.getAuthority() == null || uri.getAuthority().isEmpty())) {
            return "file:" + uri.getRawPath();
        }
        return uri.toString();
    }

    /**
     * Refuses the batch when a file's size or modification time is not what the listing saw (a file still
     * being written, or replaced): the rows read may be neither the old file nor the new one.
     */
    void requireUnchanged(Configuration hadoopConf) {
        for (FileStatus listed : files) {
            Path p = listed.getPath();
            String change;
            try {
                FileStatus now = p.getFileSystem(hadoopConf).getFileStatus(p);
                if (now.getLen() == listed.getLen() && now.getModificationTime() == listed.getModificationTime()) {
                    continue;
                }
                change = "size " + listed.getLen() + " -> " + now.getLen() + " bytes, modified "
                        + Instant.ofEpochMilli(listed.getModificationTime()) + " -> " + Instant.ofEpochMilli(now.getModificationTime());
            } catch (FileNotFoundException e) {
                change = "it was deleted";
            } catch (IOException e) {
                change = "it can no longer be listed: " + e.getMessage();
            }
            throw new KilnException("source file " + p + " changed while it was read (" + change + "); nothing was"
                    + " written. Re-run once the file is complete (a re-run reads it again as a new batch); to avoid"
                    + " this, write exports elsewhere and move them into the source path when they are done");
        }
    }

    List<String> paths() {
        return files.stream().map(f -> f.getPath().toString()).toList();
    }

    /** Same files (path, size, modification time) give the same batch id, so a re-run is recognized. */
    String batchId(String dataset) {
        StringBuilder sb = new StringBuilder(dataset);
        for (FileStatus f : files) {
            sb.append('\n').append(f.getPath()).append('|').append(f.getLen()).append('|').append(f.getModificationTime());
        }
        return "b" + dev.kiln.lakehouse.Hashing.sha256Hex(sb.toString(), 15);
    }
}
