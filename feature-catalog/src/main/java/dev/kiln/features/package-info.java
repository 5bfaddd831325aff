/**
 * Feature sets: versioned definitions, incremental materialization into {@code features.<set>__v<n>},
 * the {@code features.catalog} table and point-in-time correct training sets. Not built yet (issue 3).
 */
package dev.kiln.features;
