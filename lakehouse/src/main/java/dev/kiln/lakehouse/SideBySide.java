package dev.kiln.lakehouse;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/**
 * Runs one job per item on a few threads of the same SparkSession (feature sets materialized side by side, drift's
 * two report commits), so that both cores stay busy where one job alone would not. Results come in the order of the items; when a job fails the
 * others still finish, and the first failure is thrown with the later ones attached as suppressed.
 */
public final class SideBySide {
    private SideBySide() {}

    public static <I, T> List<T> run(List<I> items, int threads, Function<I, T> job) {
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(threads, items.size())));
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (I item : items) {
                futures.add(pool.submit(() -> job.apply(item)));
            }
            List<T> out = new ArrayList<>();
            RuntimeException failure = null;
            for (Future<T> f : futures) {
                try {
                    out.add(f.get());
                } catch (ExecutionException e) {
                    RuntimeException cause = e.getCause() instanceof RuntimeException r ? r
                            : new KilnException(KilnException.firstLine(e.getCause().getMessage()), e.getCause());
                    if (failure == null) {
                        failure = cause;
                    } else {
                        failure.addSuppressed(cause);
                    }
                }
            }
            if (failure != null) {
                throw failure;
            }
            return List.copyOf(out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KilnException("interrupted while waiting for jobs running side by side", e);
        } finally {
            pool.shutdownNow();
        }
    }
}
