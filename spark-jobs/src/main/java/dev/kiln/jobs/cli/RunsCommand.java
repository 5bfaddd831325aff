package dev.kiln.jobs.cli;

import dev.kiln.lakehouse.runlog.JobRunLog;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "runs", mixinStandardHelpOptions = true, description = "Show recent job runs from ops.job_runs.")
final class RunsCommand implements Callable<Integer> {
    @ParentCommand
    KilnCommand parent;

    @Mixin
    GlobalOptions global;

    @Option(names = "--limit", description = "How many runs (default: ${DEFAULT-VALUE}).")
    int limit = 20;

    @Override
    public Integer call() {
        try (KilnContext ctx = parent.open(global)) {
            Tables.print(ctx.out(), new JobRunLog(ctx.lakehouse()).recent(limit)
                    .select("started_at", "job", "status", "duration_s", "rows_in", "rows_out", "rows_quarantined",
                            "run_id", "error"), limit);
        }
        return ExitCodes.OK;
    }
}
