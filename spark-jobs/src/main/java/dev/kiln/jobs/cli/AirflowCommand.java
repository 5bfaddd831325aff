package dev.kiln.jobs.cli;

import dev.kiln.jobs.airflow.AirflowClient;
import dev.kiln.jobs.airflow.AirflowSettings;
import dev.kiln.jobs.airflow.Dag;
import dev.kiln.jobs.airflow.DagRun;
import dev.kiln.jobs.airflow.DagRunState;
import dev.kiln.jobs.airflow.TaskInstance;
import dev.kiln.lakehouse.KilnException;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code kiln airflow}: Kiln's DAGs through Airflow's REST API. None of these start Spark. Credentials come
 * from KILN_AIRFLOW_USERNAME / KILN_AIRFLOW_PASSWORD or kiln.airflow.credentials-file, never from the command line.
 */
@Command(name = "airflow", mixinStandardHelpOptions = true, description = {"Trigger Kiln's Airflow DAGs and read their runs (Airflow 3 REST API at kiln.airflow.url).",
        "Credentials: KILN_AIRFLOW_USERNAME and KILN_AIRFLOW_PASSWORD, or kiln.airflow.credentials-file."},
        subcommands = {AirflowCommand.Trigger.class, AirflowCommand.Status.class, AirflowCommand.Runs.class})
final class AirflowCommand implements Runnable {
    @ParentCommand
    KilnCommand parent;

    @picocli.CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    AirflowClient client(GlobalOptions options) {
        try (KilnContext ctx = parent.open(options)) {
            return AirflowClient.create(AirflowSettings.parse(ctx.config().config()), System.getenv());
        }
    }

    @Command(name = "trigger", mixinStandardHelpOptions = true, description = {"Start a run of DAG with the given conf. With --wait, follow it until it ends:"
            + " exit 0 when it succeeded, 1 when it failed or did not end within --timeout.",
            "Kiln config overrides go before the command name here (kiln --conf kiln.airflow.url=... airflow trigger ...):"
                    + " --conf after it is the DAG run's conf."})
    static final class Trigger implements Callable<Integer> {
        @ParentCommand
        AirflowCommand parent;

        @picocli.CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(index = "0", paramLabel = "DAG")
        String dagId;

        @Option(names = "--conf", paramLabel = "KEY=VALUE", description = "An entry of the DAG run's conf. Repeatable.")
        List<String> conf = new ArrayList<>();

        @Option(names = "--run-id", paramLabel = "ID", description = "The DAG run id (default: Airflow's manual__<time>).")
        String runId;

        @Option(names = "--logical-date", paramLabel = "DATE",
                description = "The run's logical date, yyyy-mm-dd (midnight UTC) or an ISO instant (default: none).")
        String logicalDate;

        @Option(names = "--wait", description = "Wait for the run to end and print its task instances.")
        boolean waitForEnd;

        @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "3600",
                description = "With --wait: give up waiting after this long (default: ${DEFAULT-VALUE}); the run goes on.")
        long timeoutSeconds;

        @Override
        public Integer call() {
            Map<String, String> runConf;
            Optional<Instant> logical;
            try {
                if (timeoutSeconds < 1) {
                    throw new IllegalArgumentException("--timeout must be at least 1 second, got " + timeoutSeconds);
                }
                runConf = parseConf(conf);
                logical = Optional.ofNullable(logicalDate).map(AirflowCommand::parseLogicalDate);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            AirflowClient client = parent.client(new GlobalOptions());
            PrintStream out = System.out;
            Dag dag = client.dag(dagId);
            if (dag.paused()) {
                out.println("[kiln] warning: DAG " + dagId + " is paused: the run stays queued until it is unpaused"
                        + " (airflow dags unpause " + dagId + ")");
            }
            DagRun run = client.trigger(dagId, runConf, Optional.ofNullable(runId), logical);
            out.println("triggered " + dagId + " run " + run.runId() + " (" + run.state().text() + ")");
            if (!waitForEnd) {
                return ExitCodes.OK;
            }
            DagRun end = client.await(dagId, run.runId(), Duration.ofSeconds(timeoutSeconds),
                    r -> out.println("[kiln] " + dagId + " " + r.runId() + ": " + r.state().text()));
            List<TaskInstance> tasks = client.taskInstances(dagId, run.runId());
            printTasks(out, tasks);
            if (end.state() == DagRunState.FAILED) {
                List<String> failed = tasks.stream().filter(t -> t.state().equals("failed") || t.state().equals("upstream_failed"))
                        .map(t -> t.taskId() + " " + t.state()).toList();
                throw new KilnException("DAG run " + run.runId() + " of " + dagId + " ended failed"
                        + (failed.isEmpty() ? "" : " (" + String.join(", ", failed) + ")")
                        + "; the task logs are in Airflow (kiln airflow status " + dagId + " " + run.runId() + ")");
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "A DAG run's state and its task instances.")
    static final class Status implements Callable<Integer> {
        @ParentCommand
        AirflowCommand parent;

        @Mixin
        GlobalOptions global;

        @Parameters(index = "0", paramLabel = "DAG")
        String dagId;

        @Parameters(index = "1", paramLabel = "RUN_ID")
        String runId;

        @Override
        public Integer call() {
            AirflowClient client = parent.client(global);
            DagRun run = client.dagRun(dagId, runId);
            PrintStream out = System.out;
            out.println(dagId + " " + run.runId() + ": " + run.state().text()
                    + run.logicalDate().map(d -> ", logical date " + d).orElse("")
                    + run.startDate().map(d -> ", started " + d).orElse("")
                    + run.endDate().map(d -> ", ended " + d).orElse(""));
            printTasks(out, client.taskInstances(dagId, runId));
            return ExitCodes.OK;
        }
    }

    @Command(name = "runs", mixinStandardHelpOptions = true, description = "A DAG's most recent runs, newest first.")
    static final class Runs implements Callable<Integer> {
        @ParentCommand
        AirflowCommand parent;

        @Mixin
        GlobalOptions global;

        @Parameters(index = "0", paramLabel = "DAG")
        String dagId;

        @Option(names = "--limit", paramLabel = "N", defaultValue = "20", description = "How many (default: ${DEFAULT-VALUE}, at most 100).")
        int limit;

        @Override
        public Integer call() {
            for (DagRun r : parent.client(global).dagRuns(dagId, limit)) {
                System.out.printf("%-50s %-8s %s%n", r.runId(), r.state().text(), r.logicalDate().map(Instant::toString).orElse("-"));
            }
            return ExitCodes.OK;
        }
    }

    static Map<String, String> parseConf(List<String> entries) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String e : entries) {
            int eq = e.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--conf '" + e + "': expected KEY=VALUE");
            }
            out.put(e.substring(0, eq), e.substring(eq + 1));
        }
        return out;
    }

    static Instant parseLogicalDate(String text) {
        try {
            return text.length() == 10 ? LocalDate.parse(text).atStartOfDay(ZoneOffset.UTC).toInstant() : Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("--logical-date '" + text + "': expected yyyy-mm-dd or an ISO instant"
                    + " (2024-03-01T00:00:00Z)");
        }
    }

    private static void printTasks(PrintStream out, List<TaskInstance> tasks) {
        for (TaskInstance t : tasks) {
            out.printf("  %-28s %-16s try %d%s%n", t.taskId(), t.state(), t.tryNumber(),
                    t.durationSeconds().map(d -> String.format("  %.1fs", d)).orElse(""));
        }
    }
}
