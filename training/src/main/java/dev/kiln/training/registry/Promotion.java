package dev.kiln.training.registry;

/** The outcome of a promotion. */
public record Promotion(boolean promoted, String message) {}
