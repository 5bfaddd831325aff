package dev.kiln.lakehouse.commit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.lakehouse.KilnException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.ConcurrentModificationException;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The one retry policy, driven by injected conflicts: attempts and pauses are observed, not timed. */
class ConflictRetryTest {
    private final List<Duration> pauses = new ArrayList<>();

    private ConflictRetry retry(int attempts, double jitter) {
        return new ConflictRetry(new CommitPolicy(attempts, Duration.ofMillis(100), Duration.ofMillis(350)), pauses::add,
                () -> jitter);
    }

    /** A conflict wrapped the way Spark wraps Delta's (a cause two levels down). */
    private static RuntimeException conflict(int n) {
        return new IllegalStateException("job aborted", new RuntimeException("commit failed",
                new ConcurrentModificationException("ConcurrentAppendException " + n)));
    }

    @Test
    void retriesConflictsWithExponentialCappedBackoff() {
        AtomicInteger calls = new AtomicInteger();
        String out = retry(8, 1.0).run("committing t", () -> {
            if (calls.incrementAndGet() <= 4) {
                throw conflict(calls.get());
            }
            return "committed";
        });
        assertEquals("committed", out);
        assertEquals(5, calls.get());
        // 100, 200, 400 -> capped at 350, 350; jitter 1.0 takes the whole pause.
        assertEquals(List.of(Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofMillis(350), Duration.ofMillis(350)),
                pauses);
    }

    @Test
    void jitterTakesAtMostHalfThePause() {
        AtomicInteger calls = new AtomicInteger();
        retry(8, 0.0).run("committing t", () -> {
            if (calls.incrementAndGet() <= 2) {
                throw conflict(calls.get());
            }
            return null;
        });
        assertEquals(List.of(Duration.ofMillis(50), Duration.ofMillis(100)), pauses);
    }

    @Test
    void givesUpAfterMaxAttemptsNamingTheCommitAndTheSetting() {
        AtomicInteger calls = new AtomicInteger();
        KilnException e = assertThrows(KilnException.class, () -> retry(3, 0.5).run("merging into ml.models", () -> {
            calls.incrementAndGet();
            throw conflict(calls.get());
        }));
        assertEquals(3, calls.get());
        assertEquals(2, pauses.size());
        assertTrue(e.getMessage().startsWith("merging into ml.models lost to concurrent commits 3 time(s) in a row"),
                e.getMessage());
        assertTrue(e.getMessage().contains("kiln.commit.max-attempts = 3"), e.getMessage());
    }

    @Test
    void otherFailuresAreNotRetried() {
        RuntimeException boom = new IllegalArgumentException("schema mismatch");
        AtomicInteger calls = new AtomicInteger();
        RuntimeException e = assertThrows(RuntimeException.class, () -> retry(8, 0.5).run("appending to t", () -> {
            calls.incrementAndGet();
            throw boom;
        }));
        assertSame(boom, e);
        assertEquals(1, calls.get());
        assertTrue(pauses.isEmpty());
    }

    /** Spark throws its checked AnalysisException undeclared; a table created elsewhere first is a lost race too. */
    @Test
    void aCheckedTableAlreadyExistsIsRetried() {
        AtomicInteger calls = new AtomicInteger();
        String out = retry(8, 1.0).run("writing t", () -> {
            if (calls.incrementAndGet() == 1) {
                throw ConflictRetryTest.<RuntimeException>sneaky(new Exception("wrapped", new AlreadyExistsException()));
            }
            return "written";
        });
        assertEquals("written", out);
        assertEquals(2, calls.get());
    }

    /** Named like the metastore's, which DeltaConflicts.isCreatedElsewhere recognizes by name. */
    private static final class AlreadyExistsException extends Exception {
        private static final long serialVersionUID = 1L;
    }

    @SuppressWarnings("unchecked")
    private static <E extends Exception> E sneaky(Exception e) throws E {
        throw (E) e;
    }

    @Test
    void policyRefusesNonsense() {
        assertThrows(IllegalArgumentException.class, () -> new CommitPolicy(0, Duration.ZERO, Duration.ZERO));
        assertThrows(IllegalArgumentException.class,
                () -> new CommitPolicy(3, Duration.ofSeconds(2), Duration.ofSeconds(1)));
    }
}
