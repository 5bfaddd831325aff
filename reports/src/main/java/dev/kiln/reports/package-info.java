/**
 * Evaluation, drift and data-profile reports as Delta tables ({@code reports.*}), alerts and the retrain
 * trigger. Not built yet (issue 5).
 */
package dev.kiln.reports;
