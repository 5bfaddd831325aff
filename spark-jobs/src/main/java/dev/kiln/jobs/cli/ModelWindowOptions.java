package dev.kiln.jobs.cli;

import dev.kiln.training.registry.ModelUri;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** The model version, day range and slices of a report on scored days ({@code kiln evaluate}, {@code kiln estimate}). */
final class ModelWindowOptions {
    @Option(names = "--model", required = true, paramLabel = "URI", description = "models:/<name>/<version> or models:/<name>@<alias>")
    String model;

    @Option(names = "--from", required = true, paramLabel = "DATE", description = "First day, included.")
    String from;

    @Option(names = "--to", required = true, paramLabel = "DATE", description = "Last day, included.")
    String to;

    @Option(names = "--slice-by", paramLabel = "COLUMN", description = "Also report per value of this event column (repeatable).")
    List<String> sliceBy = new ArrayList<>();

    @Option(names = "--top", paramLabel = "N", description = "Slice values reported: the N with most rows (default: ${DEFAULT-VALUE}).")
    int top = 5;

    ModelUri uri() {
        return ModelUri.parse(model);
    }

    LocalDate from() {
        return Arguments.date("--from", from);
    }

    LocalDate to() {
        return Arguments.date("--to", to);
    }
}
