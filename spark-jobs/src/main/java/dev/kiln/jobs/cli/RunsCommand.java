package dev.kiln.jobs.cli;

import dev.kiln.lakehouse.runlog.JobRun;
import dev.kiln.lakehouse.runlog.JobRunLog;
import dev.kiln.lakehouse.runlog.RunLiveness;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "runs", mixinStandardHelpOptions = true, subcommands = RunsShowCommand.class, description = {
        "Show recent job runs from ops.job_runs; a run whose process is gone shows as 'not finished'.",
        "`kiln runs show RUN_ID` shows one run and its Spark stages."})
final class RunsCommand implements Callable<Integer> {
    @ParentCommand
    KilnCommand parent;

    @Mixin
    GlobalOptions global;

    @Option(names = "--limit", description = "How many runs (default: ${DEFAULT-VALUE}).")
    int limit = 20;

    @Option(names = "--failed", description = "Only runs that failed or did not finish.")
    boolean failed;

    @Override
    public Integer call() {
        try (KilnContext ctx = parent.open(global)) {
            RunLiveness liveness = RunLiveness.here();
            List<String[]> cells = new ArrayList<>();
            cells.add(new String[] {"started_at", "job", "status", "duration_s", "rows_in", "rows_out",
                    "rows_quarantined", "run_id", "spark_app_id", "arguments", "error"});
            for (JobRun run : new JobRunLog(ctx.lakehouse()).runs(limit, failed)) {
                String state = liveness.state(run);
                if (failed && state.equals("running")) {
                    continue; // still going
                }
                cells.add(new String[] {run.startedAt().toString(), run.job(), state,
                        run.durationSeconds().map(d -> String.format(java.util.Locale.ROOT, "%.1f", d)).orElse("NULL"),
                        text(run.rowsIn()), text(run.rowsOut()), text(run.rowsQuarantined()), run.runId(),
                        text(run.origin().sparkAppId()), run.arguments(),
                        run.error().or(() -> liveness.whyGone(run)).orElse("NULL")});
            }
            Tables.print(ctx.out(), cells);
            ctx.out().println("(" + (cells.size() - 1) + (cells.size() == 2 ? " run)" : " runs)"));
        }
        return ExitCodes.OK;
    }

    static String text(Object v) {
        return v == null ? "NULL" : v.toString();
    }
}
