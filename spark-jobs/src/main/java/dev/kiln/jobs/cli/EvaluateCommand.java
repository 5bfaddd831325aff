package dev.kiln.jobs.cli;

import dev.kiln.reports.evaluation.EvaluationMetric;
import dev.kiln.reports.evaluation.Evaluator;
import dev.kiln.training.registry.ModelUri;
import java.time.LocalDate;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

@Command(name = "evaluate", mixinStandardHelpOptions = true, description = {"Join a model's predictions of a day range to the outcomes (its training set's"
        + " label over the events, once they exist) and write reports.evaluation: AUC-ROC, AUC-PR, log loss, Brier,"
        + " accuracy, precision, recall, F1 at the model's threshold and calibration bins (RMSE, R2 for regression),"
        + " overall and per slice. Re-running replaces that model version's rows for that window."})
final class EvaluateCommand implements Callable<Integer> {
    @ParentCommand
    KilnCommand parent;

    @Mixin
    GlobalOptions global;

    @Mixin
    ModelWindowOptions window;

    @Override
    public Integer call() {
        ModelUri uri = window.uri();
        LocalDate f = window.from();
        LocalDate t = window.to();
        try (KilnContext ctx = parent.open(global)) {
            List<EvaluationMetric> metrics = ctx.kiln().evaluate(uri, f, t, window.sliceBy, window.top);
            ctx.out().printf("evaluation of %s, %s .. %s -> %s%n", uri, f, t, Evaluator.TABLE);
            for (EvaluationMetric m : metrics) {
                if (!m.metric().startsWith("calibration")) {
                    ctx.out().printf("  %-22s %-14s %s  (%,d rows)%n", m.slice(), m.metric(),
                            m.value() == null ? "n/a" : String.format("%.6f", m.value()), m.rows());
                }
            }
        }
        return ExitCodes.OK;
    }
}
