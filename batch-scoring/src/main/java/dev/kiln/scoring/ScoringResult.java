package dev.kiln.scoring;

import java.time.LocalDate;
import java.util.Map;

/** What a scoring run wrote: rows per model URI as given. */
public record ScoringResult(String runId, LocalDate from, LocalDate to, Map<String, Long> rowsPerModel) {
    public String summary() {
        StringBuilder sb = new StringBuilder(String.format("scored %s .. %s (run %s) -> %s:", from, to, runId, BatchScorer.PREDICTIONS));
        rowsPerModel.forEach((m, n) -> sb.append(String.format("%n  %-44s %,d predictions", m, n)));
        return sb.toString();
    }
}
