package dev.kiln.reports;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * Records how much shuffle data each task of each stage read while it is registered: a step that merges all
 * of a column's distinct values in one task shows up as one task reading a whole stage's shuffle output.
 */
final class ShuffleSpread extends SparkListener implements AutoCloseable {
    private final SparkContext context;
    private final Map<Integer, List<Long>> readByStage = new ConcurrentHashMap<>();

    ShuffleSpread(SparkContext context) {
        this.context = context;
        context.addSparkListener(this);
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd end) {
        if (end.taskMetrics() != null) {
            readByStage.computeIfAbsent(end.stageId(), s -> java.util.Collections.synchronizedList(new ArrayList<>()))
                    .add(end.taskMetrics().shuffleReadMetrics().totalBytesRead());
        }
    }

    /** Stages that read more than {@code minBytes} in all, where one task read more than {@code share} of it. */
    List<String> concentrated(long minBytes, double share) {
        drain();
        List<String> out = new ArrayList<>();
        readByStage.forEach((stage, reads) -> {
            long total = reads.stream().mapToLong(Long::longValue).sum();
            long most = reads.stream().mapToLong(Long::longValue).max().orElse(0);
            if (total > minBytes && most > share * total) {
                out.add("stage " + stage + ": one of " + reads.size() + " tasks read " + most + " of " + total + " shuffle bytes");
            }
        });
        return out;
    }

    long stagesReadingMoreThan(long minBytes) {
        drain();
        return readByStage.values().stream().filter(r -> r.stream().mapToLong(Long::longValue).sum() > minBytes).count();
    }

    private void drain() {
        try {
            context.listenerBus().waitUntilEmpty();
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("Spark's listener bus did not drain", e);
        }
    }

    @Override
    public void close() {
        context.removeSparkListener(this);
    }
}
