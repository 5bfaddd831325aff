package dev.kiln.jobs.cli;

import dev.kiln.lakehouse.ingest.DatasetSpec;
import dev.kiln.lakehouse.ingest.IngestResult;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "ingest", mixinStandardHelpOptions = true, description = {
        "Ingest a dataset's source files into raw.<dataset>; rows that break the contract go to raw.<dataset>_quarantine.",
        "Re-running the same batch (same files, or the same --batch-id) adds nothing."})
final class IngestCommand implements Callable<Integer> {
    @ParentCommand
    KilnCommand parent;

    @Mixin
    GlobalOptions global;

    @Parameters(index = "0", paramLabel = "DATASET", description = "A dataset under datasets.* in the config.")
    String dataset;

    @Option(names = "--batch-id", description = "Batch id (default: derived from the matched files).")
    String batchId;

    @Option(names = "--source", paramLabel = "PATH", description = "Read this path or glob instead of the configured one.")
    String source;

    @Option(names = "--allow-new-columns", description = "Accept source columns that are not in the contract.")
    boolean allowNewColumns;

    @Override
    public Integer call() {
        try (KilnContext ctx = parent.open(global)) {
            DatasetSpec spec = ctx.config().dataset(dataset);
            if (source != null) {
                spec = spec.withPath(source);
            }
            if (allowNewColumns) {
                spec = spec.withAllowNewColumns(true);
            }
            IngestResult result = ctx.kiln().ingest(spec, Optional.ofNullable(batchId));
            ctx.out().println(result.summary());
            return ExitCodes.OK;
        }
    }
}
