package dev.kiln.lakehouse.commit;

import static java.util.Objects.requireNonNull;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.DeltaConflicts;
import java.time.Duration;
import java.util.function.DoubleSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kiln's one retry loop for Delta commits. An attempt that fails because a concurrent commit won the race (any
 * {@link java.util.ConcurrentModificationException} Delta raises, or another process creating the same table first:
 * {@link DeltaConflicts}) runs again after the {@link CommitPolicy}'s pause; any other failure ends the loop at once.
 * An attempt must therefore be safe to repeat: each of Kiln's writes re-reads the table it commits to.
 */
public final class ConflictRetry {
    private static final Logger LOG = LoggerFactory.getLogger(ConflictRetry.class);

    /** Waits between attempts; tests observe the pauses through it. */
    public interface Sleeper {
        void sleep(Duration pause) throws InterruptedException;
    }

    private final CommitPolicy policy;
    private final Sleeper sleeper;
    private final DoubleSupplier jitter;

    public ConflictRetry(CommitPolicy policy) {
        this(policy, pause -> Thread.sleep(pause.toMillis()), Math::random);
    }

    public ConflictRetry(CommitPolicy policy, Sleeper sleeper, DoubleSupplier jitter) {
        this.policy = requireNonNull(policy, "policy is null");
        this.sleeper = requireNonNull(sleeper, "sleeper is null");
        this.jitter = requireNonNull(jitter, "jitter is null");
    }

    public CommitPolicy policy() {
        return policy;
    }

    /** Whether {@code e} is a lost race that trying again can win. */
    public static boolean isConflict(Throwable e) {
        return DeltaConflicts.isConflict(e) || DeltaConflicts.isCreatedElsewhere(e);
    }

    /**
     * Runs {@code attempt} until it returns, retrying conflicts. {@code what} names the commit in the log and in the
     * error after the last attempt ("committing ml.predictions").
     */
    public <T> T run(String what, Supplier<T> attempt) {
        for (int n = 1; ; n++) {
            try {
                return attempt.get();
            } catch (Exception e) { // Spark throws AnalysisException (checked) undeclared, e.g. TABLE_OR_VIEW_ALREADY_EXISTS
                if (!isConflict(e)) {
                    throw ConflictRetry.<RuntimeException>rethrow(e);
                }
                if (n >= policy.maxAttempts()) {
                    throw new KilnException(what + " lost to concurrent commits " + n + " time(s) in a row (kiln.commit"
                            + ".max-attempts = " + policy.maxAttempts() + "); run it again: "
                            + KilnException.firstLine(e.getMessage()), e);
                }
                Duration pause = policy.pause(n, jitter.getAsDouble());
                LOG.info("{}: a concurrent commit won ({}); trying again in {} ms (attempt {} of {})", what,
                        DeltaConflicts.find(e).map(c -> c.getClass().getSimpleName()).orElse("table created elsewhere"),
                        pause.toMillis(), n + 1, policy.maxAttempts());
                try {
                    sleeper.sleep(pause);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new KilnException("interrupted while " + what, ie);
                }
            }
        }
    }

    /** Throws {@code e} as it is, checked or not (Spark's checked exceptions arrive undeclared). */
    @SuppressWarnings("unchecked")
    private static <E extends Exception> E rethrow(Exception e) throws E {
        throw (E) e;
    }
}
