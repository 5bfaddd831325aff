/**
 * Model specs to MLlib pipelines, time-based splits and tuning, the model registry ({@code ml.models},
 * {@code ml.model_aliases}) and GPU settings. Not built yet (issue 4).
 */
package dev.kiln.training;
