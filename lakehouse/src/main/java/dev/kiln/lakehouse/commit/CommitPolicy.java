package dev.kiln.lakehouse.commit;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * How Kiln retries a Delta commit that lost a race to a concurrent one ({@code kiln.commit.*}): up to
 * {@code maxAttempts} tries, the n-th retry after a pause of {@code backoff * 2^(n-1)}, capped at {@code maxBackoff}, of
 * which a random half is jitter (so two losers do not collide again in step).
 *
 * @param maxAttempts tries in all, the first one included (1 = never retry)
 * @param backoff     the pause before the first retry, before jitter
 * @param maxBackoff  the longest pause before one retry
 */
public record CommitPolicy(int maxAttempts, Duration backoff, Duration maxBackoff) {
    /** The defaults of {@code kiln.commit} in conf/kiln.conf. */
    public static final CommitPolicy DEFAULT = new CommitPolicy(8, Duration.ofMillis(200), Duration.ofSeconds(5));

    public CommitPolicy {
        requireNonNull(backoff, "backoff is null");
        requireNonNull(maxBackoff, "maxBackoff is null");
        if (maxAttempts < 1 || maxAttempts > 100) {
            throw new IllegalArgumentException("maxAttempts must be between 1 and 100, got " + maxAttempts);
        }
        if (backoff.isNegative() || maxBackoff.compareTo(backoff) < 0) {
            throw new IllegalArgumentException("expected 0 <= backoff <= max-backoff, got " + backoff + " and " + maxBackoff);
        }
    }

    /** The pause before retry number {@code retry} (1 = the first retry), for a jitter draw {@code u} in [0, 1). */
    public Duration pause(int retry, double u) {
        long base = backoff.toMillis();
        long capped = Math.min(maxBackoff.toMillis(), retry >= 31 ? Long.MAX_VALUE / 4 : base << (retry - 1));
        return Duration.ofMillis(capped / 2 + (long) (u * (capped - capped / 2)));
    }
}
