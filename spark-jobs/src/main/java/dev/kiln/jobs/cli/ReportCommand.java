package dev.kiln.jobs.cli;

import static org.apache.spark.sql.functions.col;

import dev.kiln.reports.html.ModelReport;
import dev.kiln.training.registry.ModelUri;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "report", mixinStandardHelpOptions = true, description = {"Write one self-contained HTML report of a model"
        + " version and a day range from Kiln's tables alone: model card, ROC and precision-recall curves with the decision"
        + " threshold, calibration, metrics per slice, estimated vs realized performance, drift metrics with each input's"
        + " reference and current distributions, alerts and the job runs behind the numbers. The file opens without a"
        + " network (charts drawn by vega-lite, inlined). Written to <root>/reports/html/<model>/<version>/<from>_<to>.html"
        + " (replacing the same version and window) and listed in reports.html_reports.",
        "kiln report --list lists the reports written."})
final class ReportCommand implements Callable<Integer> {
    @ParentCommand
    KilnCommand parent;

    @Mixin
    GlobalOptions global;

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "URI", description = "models:/<name>/<version> or models:/<name>@<alias>"
            + " (with --list: a model name to list the reports of).")
    String model;

    @Option(names = "--from", paramLabel = "DATE", description = "First day, included (the window evaluated and the drift"
            + " run's current window).")
    String from;

    @Option(names = "--to", paramLabel = "DATE", description = "Last day, included.")
    String to;

    @Option(names = "--list", description = "List the reports in reports.html_reports (newest first) instead of writing one.")
    boolean list;

    @Override
    public Integer call() {
        if (!list && (model == null || from == null || to == null)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "kiln report needs --model, --from and --to (or --list)");
        }
        try (KilnContext ctx = parent.open(global)) {
            if (list) {
                if (!ctx.kiln().lakehouse().exists(ModelReport.TABLE)) {
                    ctx.out().println("no reports written yet (" + ModelReport.TABLE + " does not exist)");
                    return ExitCodes.OK;
                }
                Dataset<Row> reports = ctx.kiln().htmlReports();
                if (model != null) {
                    reports = reports.where(col("model_name").equalTo(model.startsWith("models:/") ? ModelUri.parse(model).name() : model));
                }
                for (Row r : reports.orderBy(col("created_at").desc()).collectAsList()) {
                    ctx.out().printf("%s v%d %s .. %s  %s  (%,d bytes, written %s)%n", r.getAs("model_name"), r.<Integer>getAs("model_version"),
                            r.getAs("window_from"), r.getAs("window_to"), r.getAs("path"), r.<Long>getAs("bytes"), r.getAs("created_at"));
                }
                return ExitCodes.OK;
            }
            ModelReport.Written w = ctx.kiln().report(ModelUri.parse(model), Arguments.date("--from", from), Arguments.date("--to", to));
            ctx.out().println(w.summary());
        }
        return ExitCodes.OK;
    }
}
