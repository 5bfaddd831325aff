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

    /** The first line of a (Spark) error message: the part that names the problem, without the plan dump. */
    public static String firstLine(String message) {
        if (message == null) {
            return "failed";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
