package dev.kiln.jobs.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** Options every command takes, before or after the command name. */
public final class GlobalOptions {
    @Option(names = "--conf", paramLabel = "KEY=VALUE",
            description = "Override a config key (kiln.lakehouse.root=/data/lake) or pass a Spark setting"
                    + " (spark.sql.shuffle.partitions=64). Repeatable.")
    List<String> conf = new ArrayList<>();

    @Option(names = "--env", paramLabel = "NAME", description = "Config overlay to load: local (default), cluster, ...")
    String environment;

    @Option(names = "--gpu", description = "Load conf/gpu.conf on top: the RAPIDS Accelerator's settings"
            + " (bin/kiln also puts the RAPIDS jar on the classpath).")
    boolean gpu;

    @Option(names = "--conf-dir", paramLabel = "DIR",
            description = "Kiln's conf/ directory (default: $KILN_CONF_DIR, else <kiln home>/conf, else ./conf).")
    Path confDir;
}
