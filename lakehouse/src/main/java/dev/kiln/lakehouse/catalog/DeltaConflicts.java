package dev.kiln.lakehouse.catalog;

import java.util.ConcurrentModificationException;

/**
 * Kiln's one test for "Delta refused this commit because another one won the race" (ConcurrentAppendException,
 * ConcurrentDeleteReadException, MetadataChangedException, ... all extend {@link ConcurrentModificationException}),
 * however deeply Spark or Delta wrapped it. Writers that retry on conflicts ask this, and nothing else. Its twin,
 * {@link #isCreatedElsewhere}, is the one test for "another process created this table first".
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

    /**
     * Another process sharing the catalog registered the table (or schema) between this one's check and its
     * create: Spark's {@code *_ALREADY_EXISTS} conditions, or the metastore's own AlreadyExistsException, which
     * Spark passes on inside an AnalysisException (a checked exception, thrown undeclared) around a HiveException.
     */
    public static boolean isCreatedElsewhere(Throwable e) {
        int depth = 0;
        for (Throwable t = e; t != null && depth < 20; t = t.getCause(), depth++) {
            if (t instanceof org.apache.spark.SparkThrowable s && s.getCondition() != null
                    && s.getCondition().endsWith("_ALREADY_EXISTS")) {
                return true;
            }
            if (t.getClass().getSimpleName().equals("AlreadyExistsException")) {
                return true;
            }
        }
        return false;
    }
}
