package dev.kiln.jobs.cli;

import dev.kiln.reports.Alerts;
import dev.kiln.reports.drift.RetrainTrigger;
import dev.kiln.reports.estimate.EstimateFloors;
import dev.kiln.reports.estimate.PerformanceEstimator;
import dev.kiln.training.registry.ModelUri;
import java.time.LocalDate;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "estimate", mixinStandardHelpOptions = true, description = {"Estimate a binary model's performance on a"
        + " scored day range before its outcomes exist, from the scores alone (each score taken as a calibrated"
        + " probability): accuracy, precision, recall and F1 at the model's decision threshold, and ROC AUC, each with a"
        + " 95%% band, overall and per slice. Writes reports.performance_estimate (replacing that model version's rows for"
        + " that window); kiln evaluate later keeps the realized values beside the estimates. An overall estimate below"
        + " its floor (models.<name>.monitor.min-estimated) is a row in reports.alerts.",
        "Exit code 4 when an estimate is below its floor (unless --no-fail-on-breach)."})
final class EstimateCommand implements Callable<Integer> {
    @ParentCommand
    KilnCommand parent;

    @Mixin
    GlobalOptions global;

    @Mixin
    ModelWindowOptions window;

    @Option(names = "--trigger-retrain", description = "On an estimate below its floor, ask Airflow to run the retrain DAG"
            + " (as kiln drift --trigger-retrain).")
    boolean triggerRetrain;

    @Option(names = "--no-fail-on-breach", description = "Exit 0 even when an estimate is below its floor (alerts are still written).")
    boolean noFailOnBreach;

    @Override
    public Integer call() {
        ModelUri uri = window.uri();
        LocalDate f = window.from();
        LocalDate t = window.to();
        try (KilnContext ctx = parent.open(global)) {
            EstimateFloors.parse(ctx.config().config(), uri.name()); // bad floors stop the job before Spark starts
            Optional<RetrainTrigger> trigger = triggerRetrain ? Optional.of(DriftCommand.retrainTrigger(ctx)) : Optional.empty();
            PerformanceEstimator.Outcome o = ctx.kiln().estimate(uri, f, t, window.sliceBy, window.top, trigger);
            ctx.out().printf("estimated performance of %s, %s .. %s (no outcomes needed) -> %s%n", o.model().uri(), f, t,
                    PerformanceEstimator.TABLE);
            for (PerformanceEstimator.EstimatedMetric m : o.metrics()) {
                ctx.out().printf("  %-22s %-10s %s  95%% band %s%s  (%,d rows)%n", m.slice(), m.metric(), show(m.estimate()),
                        m.lower() == null ? "n/a" : show(m.lower()) + " .. " + show(m.upper()),
                        m.realized() == null ? "" : "  realized " + show(m.realized()), m.rows());
            }
            if (o.breaches().isEmpty()) {
                ctx.out().println("no estimate below its floor");
                return ExitCodes.OK;
            }
            ctx.out().printf("%d estimate(s) below the floor, written to %s:%n", o.breaches().size(), Alerts.TABLE);
            o.breaches().forEach(b -> ctx.out().println("  " + b.message()));
            o.retrainRunId().ifPresent(id -> ctx.out().println("retraining requested: Airflow run " + id));
            o.retrainError().ifPresent(e -> ctx.out().println("retraining NOT requested: " + e));
            return noFailOnBreach ? ExitCodes.OK : ExitCodes.DRIFT_BREACHED;
        }
    }

    private static String show(Double v) {
        return v == null ? "n/a" : String.format("%.4f", v);
    }
}
