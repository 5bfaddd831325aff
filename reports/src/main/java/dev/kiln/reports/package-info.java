/**
 * Reports as Delta tables ({@code reports.*}): model evaluation today; drift, data profile, alerts and the
 * retrain trigger are not built yet.
 */
package dev.kiln.reports;
