package dev.kiln.bench;

import com.sun.management.GarbageCollectionNotificationInfo;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;

/**
 * The heap a stretch of work needed, from the JVM's own memory beans. Two figures per stretch: the peak of
 * heap in use (the sum over heap pools of each pool's peak since {@link #begin}; garbage included, so with a
 * throughput collector it mostly shows how far the heap was allowed to fill) and the peak live heap (the
 * heap in use right after a collection, the most that survived one: what the work really held). In local
 * mode the driver's heap is the executors' too, so this covers the whole job. After a young collection the old
 * generation still holds whatever garbage was promoted, so the live figure is an upper bound; the heap after
 * full collections ({@code full}, zero when none ran) is the tight one. With a probe interval
 * ({@code bench pipeline --held-heap S}) a daemon thread asks for a full collection ({@code System.gc()}, which the
 * parallel collector runs as a stop-the-world full collection) every S seconds, so {@code full} becomes the heap
 * the work held, sampled every S seconds: the figure to compare across scales. The probe costs time (each full
 * collection walks the live heap), so a run with it measures memory, not speed.
 */
final class HeapWatch implements AutoCloseable {
    private final List<MemoryPoolMXBean> pools = new ArrayList<>();
    private final List<NotificationEmitter> emitters = new ArrayList<>();
    private final AtomicLong live = new AtomicLong();
    private final AtomicLong full = new AtomicLong();
    private final AtomicLong outside = new AtomicLong();
    private final NotificationListener listener = this::onCollection;
    private final Thread probe;

    HeapWatch() {
        this(0);
    }

    /** With {@code probeSeconds > 0}, a full collection every that many seconds (see the class comment). */
    HeapWatch(int probeSeconds) {
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                pools.add(pool);
            }
        }
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (gc instanceof NotificationEmitter emitter) {
                emitter.addNotificationListener(listener, null, null);
                emitters.add(emitter);
            }
        }
        if (probeSeconds > 0) {
            probe = new Thread(() -> {
                try {
                    while (true) {
                        Thread.sleep(probeSeconds * 1000L);
                        sample();
                    }
                } catch (InterruptedException e) {
                    // closed
                }
            }, "kiln-held-heap-probe");
            probe.setDaemon(true);
            probe.start();
        } else {
            probe = null;
        }
    }

    boolean probing() {
        return probe != null;
    }

    /**
     * Heap figures of one stretch of work, in bytes; {@code outside} is the most the probe's samples held outside
     * Spark's managed memory: the heap after a full collection less the on-heap storage and execution memory
     * Spark's memory manager had handed out at that moment (cached tables and MLlib's cached training blocks;
     * the pages of sorts, aggregations and joins). Spark bounds both by {@code spark.memory.fraction} of the
     * heap and evicts or spills to disk beyond it, so what grows with the data outside them is what would not
     * be bounded: rows or distinct values gathered on the driver, per-key structures, metadata.
     */
    record Peak(long used, long live, long full, long outside) {
        static final Peak NONE = new Peak(0, 0, 0, 0);

        static Peak max(Peak a, Peak b) {
            return new Peak(Math.max(a.used, b.used), Math.max(a.live, b.live), Math.max(a.full, b.full),
                    Math.max(a.outside, b.outside));
        }
    }

    /** One probe: a full collection, then the heap it left and the part of it outside Spark's managed memory. */
    private void sample() {
        System.gc();
        Runtime rt = Runtime.getRuntime();
        long held = rt.totalMemory() - rt.freeMemory();
        // Recorded here as well as from the collector's notification, which arrives later on another thread
        // (the one after a stage's last sample can come after end() has read the figures).
        full.accumulateAndGet(held, Math::max);
        org.apache.spark.SparkEnv env = org.apache.spark.SparkEnv.get();
        long managed = env == null ? 0
                : env.memoryManager().onHeapStorageMemoryUsed() + env.memoryManager().onHeapExecutionMemoryUsed();
        outside.accumulateAndGet(Math.max(0, held - managed), Math::max);
    }

    /** Starts a stretch: forgets the peaks seen so far. */
    void begin() {
        pools.forEach(MemoryPoolMXBean::resetPeakUsage);
        live.set(0);
        full.set(0);
        outside.set(0);
    }

    /** The peaks since {@link #begin}. */
    Peak end() {
        if (probe != null) {
            sample(); // a stage shorter than the interval gets one sample: what it still holds at its end
        }
        long used = 0;
        for (MemoryPoolMXBean pool : pools) {
            MemoryUsage peak = pool.getPeakUsage();
            used += peak == null ? 0 : peak.getUsed();
        }
        return new Peak(used, live.get(), full.get(), outside.get());
    }

    private void onCollection(Notification notification, Object handback) {
        if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(notification.getType())) {
            return;
        }
        GarbageCollectionNotificationInfo info = GarbageCollectionNotificationInfo.from((CompositeData) notification.getUserData());
        long after = 0;
        for (MemoryPoolMXBean pool : pools) {
            MemoryUsage usage = info.getGcInfo().getMemoryUsageAfterGc().get(pool.getName());
            after += usage == null ? 0 : usage.getUsed();
        }
        long survived = after;
        live.accumulateAndGet(survived, Math::max);
        if (info.getGcAction().contains("major")) {
            full.accumulateAndGet(survived, Math::max);
        }
    }

    /** The legend of the held and outside figures, for the tables that print them. */
    static String heldLegend(int probeSeconds) {
        return String.format("held: the most left after a full collection (one every %d s and at each stage's end; times"
                + " include them); outside: held less Spark's managed memory in use (block cache and execution"
                + " pages, which spark.memory.fraction bounds)", probeSeconds);
    }

    static String mib(long bytes) {
        return String.format("%,d MiB", bytes >> 20);
    }

    @Override
    public void close() {
        if (probe != null) {
            probe.interrupt();
        }
        for (NotificationEmitter emitter : emitters) {
            try {
                emitter.removeNotificationListener(listener);
            } catch (javax.management.ListenerNotFoundException e) {
                // already gone
            }
        }
    }
}
