package dev.kiln.jobs.cli;

import dev.kiln.lakehouse.runlog.EventLog;
import dev.kiln.lakehouse.runlog.JobRun;
import dev.kiln.lakehouse.runlog.JobRunLog;
import dev.kiln.lakehouse.runlog.RunLiveness;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "show", mixinStandardHelpOptions = true, description = "Show one run of ops.job_runs and its Spark stages' times from the event log.")
final class RunsShowCommand implements Callable<Integer> {
    @ParentCommand
    RunsCommand runs;

    @Mixin
    GlobalOptions global;

    @Parameters(paramLabel = "RUN_ID", description = "A run id from `kiln runs`.")
    String runId;

    @Override
    public Integer call() {
        try (KilnContext ctx = runs.parent.open(mergedOptions())) {
            PrintStream out = ctx.out();
            JobRun run = new JobRunLog(ctx.lakehouse()).find(runId).orElse(null);
            if (run == null) {
                out.println("kiln: no run '" + runId + "' in ops.job_runs (see `kiln runs`)");
                return ExitCodes.USAGE;
            }
            RunLiveness liveness = RunLiveness.here();
            JobRun.Origin o = run.origin();
            List<String[]> fields = new ArrayList<>();
            fields.add(new String[] {"field", "value"});
            fields.add(new String[] {"run_id", run.runId()});
            fields.add(new String[] {"job", run.job()});
            fields.add(new String[] {"arguments", run.arguments()});
            fields.add(new String[] {"status", liveness.state(run)});
            fields.add(new String[] {"started_at", run.startedAt().toString()});
            fields.add(new String[] {"ended_at", RunsCommand.text(run.endedAt())});
            fields.add(new String[] {"duration_s", RunsCommand.text(run.durationSeconds().orElse(null))});
            fields.add(new String[] {"rows_in / out / quarantined", RunsCommand.text(run.rowsIn()) + " / "
                    + RunsCommand.text(run.rowsOut()) + " / " + RunsCommand.text(run.rowsQuarantined())});
            fields.add(new String[] {"error", run.error().or(() -> liveness.whyGone(run)).orElse("NULL")});
            fields.add(new String[] {"config_hash", run.configHash()});
            fields.add(new String[] {"spark_app_id", RunsCommand.text(o.sparkAppId())});
            fields.add(new String[] {"spark_master", RunsCommand.text(o.sparkMaster())});
            fields.add(new String[] {"kiln_version", RunsCommand.text(o.kilnVersion())});
            fields.add(new String[] {"event_log", RunsCommand.text(o.eventLog())});
            fields.add(new String[] {"host / pid", RunsCommand.text(o.host()) + " / " + RunsCommand.text(o.pid())});
            fields.add(new String[] {"heartbeat_at", RunsCommand.text(run.heartbeatAt())});
            Tables.print(out, fields);
            if (o.eventLog() == null) {
                out.println("(no event log recorded for this run)");
                return ExitCodes.OK;
            }
            List<EventLog.StageTime> stages;
            try {
                stages = EventLog.stages(o.eventLog(), ctx.lakehouse().spark().sparkContext().hadoopConfiguration());
            } catch (EventLog.EventLogNotFoundException e) {
                out.println("(" + e.getMessage() + ")");
                return ExitCodes.OK;
            }
            // An application can run several jobs (kiln demo): this run's stages are those submitted during it.
            java.time.Instant from = run.startedAt().minusSeconds(1);
            java.time.Instant to = run.endedAt() == null ? java.time.Instant.MAX : run.endedAt().plusSeconds(1);
            stages = stages.stream().filter(st -> st.submitted() != null && !st.submitted().isBefore(from)
                    && !st.submitted().isAfter(to)).toList();
            List<String[]> cells = new ArrayList<>();
            cells.add(new String[] {"stage", "attempt", "tasks", "submitted", "duration_s", "name", "failure"});
            for (EventLog.StageTime s : stages) {
                cells.add(new String[] {String.valueOf(s.stageId()), String.valueOf(s.attempt()),
                        String.valueOf(s.tasks()), RunsCommand.text(s.submitted()),
                        s.duration().map(d -> String.format(Locale.ROOT, "%.3f", d.toMillis() / 1000.0)).orElse("NULL"),
                        s.name(), s.failure().orElse("")});
            }
            out.println("Spark stages of this run (" + stages.size() + ", from " + o.eventLog() + "):");
            Tables.print(out, cells);
        }
        return ExitCodes.OK;
    }

    /** Options given after `runs` count too: `kiln runs --conf-dir d show ID`. */
    private GlobalOptions mergedOptions() {
        GlobalOptions merged = new GlobalOptions();
        merged.conf.addAll(runs.global.conf);
        merged.conf.addAll(global.conf);
        merged.environment = global.environment != null ? global.environment : runs.global.environment;
        merged.confDir = global.confDir != null ? global.confDir : runs.global.confDir;
        merged.gpu = global.gpu || runs.global.gpu;
        return merged;
    }
}
