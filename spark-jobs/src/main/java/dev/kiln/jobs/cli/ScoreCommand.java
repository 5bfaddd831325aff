package dev.kiln.jobs.cli;

import dev.kiln.scoring.ScoringResult;
import dev.kiln.training.registry.ModelUri;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "score", mixinStandardHelpOptions = true, description = {"Score the events of a day range with a registered model (and, with --also,"
        + " more models in the same pass) into ml.predictions, partitioned by day. Re-scoring replaces those models'"
        + " rows for those days and nothing else."})
final class ScoreCommand implements Callable<Integer> {
    @ParentCommand
    KilnCommand parent;

    @Mixin
    GlobalOptions global;

    @Option(names = "--model", required = true, paramLabel = "URI", description = "models:/NAME@ALIAS or models:/NAME/VERSION.")
    String model;

    @Option(names = "--also", paramLabel = "URI", description = "Another model to score in the same pass (shadow scoring). Repeatable.")
    List<String> also = new ArrayList<>();

    @Option(names = "--from", required = true, paramLabel = "DATE", description = "First day (yyyy-mm-dd).")
    String from;

    @Option(names = "--to", required = true, paramLabel = "DATE", description = "Last day, inclusive.")
    String to;

    @Override
    public Integer call() {
        List<ModelUri> uris = new ArrayList<>();
        uris.add(ModelUri.parse(model));
        also.forEach(a -> uris.add(ModelUri.parse(a)));
        LocalDate f = Arguments.date("--from", from);
        LocalDate t = Arguments.date("--to", to);
        try (KilnContext ctx = parent.open(global)) {
            ScoringResult s = ctx.kiln().scoreWindow(uris, f, t);
            ctx.out().println(s.summary());
        }
        return ExitCodes.OK;
    }
}
