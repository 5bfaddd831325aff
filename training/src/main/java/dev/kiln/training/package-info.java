/**
 * Model specs to MLlib pipelines, time-based splits and tuning, the model registry ({@code ml.models},
 * {@code ml.model_aliases}), promotion and reproduction.
 */
package dev.kiln.training;
