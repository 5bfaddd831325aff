package dev.kiln.reports.evaluation;

/** One metric of one slice. */
public record EvaluationMetric(String slice, String metric, Double value, long rows) {}
