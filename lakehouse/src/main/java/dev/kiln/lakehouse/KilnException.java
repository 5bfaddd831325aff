package dev.kiln.lakehouse;

/**
 * A failure the user can act on: bad input, bad config, a refused operation. The message names the
 * thing and, where there is one, the fix. Jobs exit non-zero with this message and no stack trace.
 */
public class KilnException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public KilnException(String message) {
        super(message);
    }

    public KilnException(String message, Throwable cause) {
        super(message, cause);
    }
}
