/**
 * Batch scoring: models named by {@code models:/} URI score a day range into {@code ml.predictions}, with
 * the feature rows built by the same point-in-time code that built their training set.
 */
package dev.kiln.scoring;
