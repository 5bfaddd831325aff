package dev.kiln.lakehouse;

/**
 * A name the configuration does not declare (a feature set, training set, model or feature of a set); the message
 * lists the known ones. The command line treats it like a configuration error (exit 2), as it does an unknown
 * dataset, while a name the lakehouse lacks (a model version, an alias) is a job failure.
 */
public final class UnknownNameException extends KilnException {
    private static final long serialVersionUID = 1L;

    public UnknownNameException(String message) {
        super(message);
    }
}
