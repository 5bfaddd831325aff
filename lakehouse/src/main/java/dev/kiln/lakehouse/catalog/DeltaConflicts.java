package dev.kiln.lakehouse.catalog;

import java.util.ConcurrentModificationException;

/**
 * Kiln's one test for "Delta refused this commit because another one won the race" (ConcurrentAppendException,
 * ConcurrentDeleteReadException, MetadataChangedException, ... all extend {@link ConcurrentModificationException}),
 * however deeply Spark or Delta wrapped it. Writers that retry on conflicts ask this, and nothing else.
 */
public final class DeltaConflicts {
    private DeltaConflicts() {}

    public static boolean isConflict(Throwable e) {
        return find(e).isPresent();
    }

    /** The conflict inside {@code e}, for messages that name it. */
    public static java.util.Optional<ConcurrentModificationException> find(Throwable e) {
        int depth = 0;
        for (Throwable t = e; t != null && depth < 20; t = t.getCause(), depth++) {
            if (t instanceof ConcurrentModificationException c) {
                return java.util.Optional.of(c);
            }
        }
        return java.util.Optional.empty();
    }
}
