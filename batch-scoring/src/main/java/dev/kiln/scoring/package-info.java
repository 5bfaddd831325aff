/**
 * Batch scoring: a model by alias or version scores a day range into {@code ml.predictions} with lineage.
 * Not built yet (issue 5).
 */
package dev.kiln.scoring;
