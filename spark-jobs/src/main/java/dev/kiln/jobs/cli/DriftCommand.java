package dev.kiln.jobs.cli;

import dev.kiln.jobs.airflow.AirflowClient;
import dev.kiln.jobs.airflow.AirflowRetrainTrigger;
import dev.kiln.jobs.airflow.AirflowSettings;
import dev.kiln.reports.drift.Drift;
import dev.kiln.reports.drift.DriftMetric;
import dev.kiln.reports.drift.DriftMonitor;
import dev.kiln.reports.drift.DriftOutcome;
import dev.kiln.reports.drift.DriftThresholds;
import dev.kiln.reports.drift.DriftWindow;
import dev.kiln.reports.drift.RetrainTrigger;
import dev.kiln.training.registry.ModelUri;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "drift", mixinStandardHelpOptions = true, description = {"Compare a model's inputs and score in a current window with a reference window"
        + " (default: the model's training window): PSI, KS, mean/std shift and null-rate change of numeric inputs;"
        + " Jensen-Shannon distance, chi-square, unseen share and null-rate change of categorical ones. Writes"
        + " reports.drift, reports.data_profile and reports.data_profile_bins (histograms of the numeric inputs and the"
        + " score; each replacing the same model version and windows) and, for every"
        + " metric over its threshold (kiln.drift.thresholds, models.<name>.drift.thresholds), a row in reports.alerts.",
        "Exit code 4 when a threshold was breached (unless --no-fail-on-breach)."})
final class DriftCommand implements Callable<Integer> {
    @ParentCommand
    KilnCommand parent;

    @Mixin
    GlobalOptions global;

    @Option(names = "--model", required = true, paramLabel = "URI", description = "models:/<name>/<version> or models:/<name>@<alias>")
    String model;

    @Option(names = "--current", required = true, paramLabel = "FROM..TO", description = "Days compared, both included (or one day).")
    String current;

    @Option(names = "--reference", paramLabel = "FROM..TO", description = "Days compared against (default: the model's training window).")
    String reference;

    @Option(names = "--trigger-retrain", description = "On a breach, ask Airflow (kiln.airflow.url; credentials from"
            + " KILN_AIRFLOW_USERNAME/KILN_AIRFLOW_PASSWORD or kiln.airflow.credentials-file) to run the retrain DAG"
            + " (kiln.airflow.retrain-dag) with conf {model, reason, drift_run_id}.")
    boolean triggerRetrain;

    @Option(names = "--no-fail-on-breach", description = "Exit 0 even when a threshold was breached (alerts are still written).")
    boolean noFailOnBreach;

    @Override
    public Integer call() {
        ModelUri uri = ModelUri.parse(model);
        DriftWindow cur = DriftWindow.parse("--current", current);
        Optional<DriftWindow> ref = reference == null ? Optional.empty() : Optional.of(DriftWindow.parse("--reference", reference));
        try (KilnContext ctx = parent.open(global)) {
            DriftThresholds.parse(ctx.config().config(), uri.name()); // bad thresholds stop the job before Spark starts
            Optional<RetrainTrigger> trigger = triggerRetrain ? Optional.of(retrainTrigger(ctx)) : Optional.empty();
            DriftOutcome o = ctx.kiln().drift(uri, ref, cur, trigger);
            print(ctx, o);
            if (!o.breaches().isEmpty()) {
                return noFailOnBreach ? ExitCodes.OK : ExitCodes.DRIFT_BREACHED;
            }
        }
        return ExitCodes.OK;
    }

    /** Airflow's retrain DAG; settings and credentials are checked here, before any Spark work starts. */
    static RetrainTrigger retrainTrigger(KilnContext ctx) {
        AirflowSettings settings = AirflowSettings.parse(ctx.config().config());
        return new AirflowRetrainTrigger(AirflowClient.create(settings, System.getenv()), settings.retrainDag());
    }

    private static void print(KilnContext ctx, DriftOutcome o) {
        ctx.out().printf("drift of %s: reference %s (%,d rows) vs current %s (%,d rows) -> %s, %s, %s%n", o.model().uri(),
                o.reference(), o.referenceRows(), o.current(), o.currentRows(), DriftMonitor.DRIFT, DriftMonitor.PROFILE,
                DriftMonitor.PROFILE_BINS);
        Map<String, StringBuilder> lines = new LinkedHashMap<>();
        for (Drift d : o.drift()) {
            if (DriftMetric.summaryNames().contains(d.metric())) {
                lines.computeIfAbsent(d.feature(), k -> new StringBuilder()).append(String.format("  %s %s%s", d.metric(),
                        d.value() == null ? "n/a" : String.format("%.4f", d.value()), d.breached() ? " (BREACH)" : ""));
            }
        }
        lines.forEach((feature, text) -> ctx.out().printf("  %-40s%s%n", feature, text));
        if (o.breaches().isEmpty()) {
            ctx.out().println("no threshold breached");
        } else {
            ctx.out().printf("%d breach(es), written to %s:%n", o.breaches().size(), DriftMonitor.ALERTS);
            o.breaches().forEach(b -> ctx.out().println("  " + b.describe()));
            o.retrainRunId().ifPresent(id -> ctx.out().println("retraining requested: Airflow run " + id));
            o.retrainError().ifPresent(e -> ctx.out().println("retraining NOT requested: " + e));
        }
    }
}
