package dev.kiln.jobs.cli;

/** Process exit codes of {@code kiln}; documented in the README. */
public final class ExitCodes {
    public static final int OK = 0;
    /** The job refused its input or failed; the message says why. Nothing partial was written. */
    public static final int JOB_FAILED = 1;
    /** Bad command line or configuration. */
    public static final int USAGE = 2;
    /** An unexpected internal error (a bug): the stack trace is printed. */
    public static final int INTERNAL = 3;
    /** {@code kiln drift}: a drift threshold was breached; the reports and alerts were written. */
    public static final int DRIFT_BREACHED = 4;

    private ExitCodes() {}
}
