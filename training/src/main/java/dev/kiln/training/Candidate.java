package dev.kiln.training;

import java.util.Map;

/**
 * One grid point of a training run: its parameters, its validation metrics (the spec's metric for every point; the
 * full validation metrics for the chosen one), how long its fit took, and whether it was chosen.
 *
 * @param index      its place in the grid (0-based, the order the grid declares)
 * @param params     the grid point's parameters, by MLlib name
 * @param metrics    validation metrics by name
 * @param fitSeconds wall time of its fit (the grid's points fit in parallel, up to the spec's parallelism)
 * @param chosen     whether it became the registered version
 */
public record Candidate(int index, Map<String, String> params, Map<String, Double> metrics, double fitSeconds, boolean chosen) {
    public Candidate {
        params = Map.copyOf(params);
        metrics = Map.copyOf(metrics);
    }
}
