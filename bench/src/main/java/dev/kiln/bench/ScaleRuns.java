package dev.kiln.bench;

import dev.kiln.lakehouse.KilnException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code kiln bench pipeline} over several processes: one run per scale ({@code --scale 1,2,4,8}), or Kiln's
 * pipeline and the hand-written one back to back ({@code --compare}). Each run is {@code bin/kiln bench pipeline}
 * of its own, started with this process's environment (so {@code KILN_DRIVER_MEMORY}, the heap, is the same for
 * all) and the same {@code --conf}/{@code --env} options; it writes its stages to a file this process reads.
 */
final class ScaleRuns {
    private ScaleRuns() {
    }

    /** Runs each scale once, in order, and prints time, ratio to the first scale, and heap, per stage and in total. */
    static int scales(BenchCommand bench, List<Integer> scales, PipelineBench.Side side) {
        Map<Integer, List<PipelineBench.Stage>> runs = new LinkedHashMap<>();
        for (int scale : scales) {
            runs.put(scale, child(bench, scale, side));
        }
        int first = scales.get(0);
        List<PipelineBench.Stage> base = runs.get(first);
        System.out.println();
        System.out.printf("bench pipeline%s at scales %s, driver heap %s (KILN_DRIVER_MEMORY), one process per scale%n",
                side == PipelineBench.Side.HAND ? " (hand-written)" : "", scales, heapSetting());
        StringBuilder head = new StringBuilder(String.format("  %-13s", "stage"));
        for (int scale : scales) {
            head.append(String.format(" | %23s", "x" + scale + " time (ratio)"));
        }
        System.out.println(head);
        for (int i = 0; i < base.size(); i++) {
            StringBuilder line = new StringBuilder(String.format("  %-13s", base.get(i).name()));
            for (int scale : scales) {
                PipelineBench.Stage st = runs.get(scale).get(i);
                line.append(String.format(" | %8.1f s (%6.2fx)   ", st.seconds(), st.seconds() / base.get(i).seconds()));
            }
            System.out.println(line);
        }
        StringBuilder total = new StringBuilder(String.format("  %-13s", "total"));
        for (int scale : scales) {
            total.append(String.format(" | %8.1f s (%6.2fx)   ", sum(runs.get(scale)), sum(runs.get(scale)) / sum(base)));
        }
        System.out.println(total);
        System.out.println();
        boolean held = bench.heldHeapSeconds > 0;
        StringBuilder heapHead = new StringBuilder(String.format("  %-13s", "peak heap"));
        for (int scale : scales) {
            heapHead.append(String.format(held ? " | %49s" : " | %23s", "x" + scale + " in use / live" + (held ? " / held / outside" : "")));
        }
        System.out.println(heapHead);
        for (int i = 0; i <= base.size(); i++) {
            String name = i < base.size() ? base.get(i).name() : "whole run";
            StringBuilder line = new StringBuilder(String.format("  %-13s", name));
            for (int scale : scales) {
                HeapWatch.Peak p = i < base.size() ? runs.get(scale).get(i).heap() : peak(runs.get(scale));
                line.append(String.format(" | %10s / %10s", HeapWatch.mib(p.used()), HeapWatch.mib(p.live())));
                if (held) {
                    line.append(String.format(" / %10s / %10s", HeapWatch.mib(p.full()), HeapWatch.mib(p.outside())));
                }
            }
            System.out.println(line);
        }
        HeapWatch.Peak x1 = peak(base);
        StringBuilder ratio = new StringBuilder(String.format("  %-13s", "live vs x" + first));
        for (int scale : scales) {
            ratio.append(String.format(held ? " | %48.2fx" : " | %22.2fx", (double) peak(runs.get(scale)).live() / x1.live()));
        }
        System.out.println(ratio);
        if (held) {
            StringBuilder heldRatio = new StringBuilder(String.format("  %-13s", "held vs x" + first));
            StringBuilder outsideRatio = new StringBuilder(String.format("  %-13s", "outside vs x" + first));
            for (int scale : scales) {
                heldRatio.append(String.format(" | %48.2fx", (double) peak(runs.get(scale)).full() / x1.full()));
                outsideRatio.append(String.format(" | %48.2fx", (double) peak(runs.get(scale)).outside() / x1.outside()));
            }
            System.out.println(heldRatio);
            System.out.println(outsideRatio);
        }
        System.out.println("  in use: the most heap occupied, garbage included (a throughput collector lets it fill);"
                + " live: the most occupied right after a collection" + (held ? "; " + HeapWatch.heldLegend(bench.heldHeapSeconds) : ""));
        return 0;
    }

    /**
     * Kiln's pipeline and the hand-written one, {@code rounds} pairs of processes, the order alternating (kiln then
     * hand, hand then kiln, ...); prints each side's median per stage and the ratio kiln / hand.
     */
    static int compare(BenchCommand bench, List<Integer> scales, int rounds) {
        if (scales.size() != 1) {
            throw new KilnException("--compare runs one scale, got " + scales);
        }
        int scale = scales.get(0);
        List<List<PipelineBench.Stage>> kiln = new ArrayList<>();
        List<List<PipelineBench.Stage>> hand = new ArrayList<>();
        for (int round = 0; round < rounds; round++) {
            if (round % 2 == 0) {
                kiln.add(child(bench, scale, PipelineBench.Side.KILN));
                hand.add(child(bench, scale, PipelineBench.Side.HAND));
            } else {
                hand.add(child(bench, scale, PipelineBench.Side.HAND));
                kiln.add(child(bench, scale, PipelineBench.Side.KILN));
            }
        }
        System.out.println();
        System.out.printf("bench pipeline --compare: flights x%d, Kiln vs hand-written (Spark + Delta + MLlib), median of %d"
                + " process%s each, order alternating, driver heap %s%n", scale, rounds, rounds == 1 ? "" : "es", heapSetting());
        System.out.printf("  %-13s %10s %10s %8s%n", "stage", "kiln", "hand", "ratio");
        List<String> names = kiln.get(0).stream().map(PipelineBench.Stage::name).toList();
        double kt = 0;
        double ht = 0;
        for (String name : names) {
            double k = median(kiln, name);
            double h = median(hand, name);
            kt += k;
            ht += Double.isNaN(h) ? 0 : h;
            System.out.printf("  %-13s %8.1f s %10s %8s%n", name, k, Double.isNaN(h) ? "-" : String.format("%8.1f s", h),
                    Double.isNaN(h) ? "-" : String.format("%6.2fx", k / h));
        }
        System.out.printf("  %-13s %8.1f s %8.1f s %6.2fx%n", "total", kt, ht, kt / ht);
        List<Double> totals = new ArrayList<>();
        for (int i = 0; i < rounds; i++) {
            totals.add(sum(kiln.get(i)) / sum(hand.get(i)));
        }
        System.out.printf("  total ratio per pair: %s%n", totals.stream().map(r -> String.format("%.2fx", r)).toList());
        System.out.println("  'promote' has no hand-written counterpart (no registry); it counts in Kiln's total");
        System.out.println();
        System.out.println("  Kiln, first process:");
        PipelineBench.printWork(System.out, kiln.get(0));
        System.out.println("  hand-written, first process:");
        PipelineBench.printWork(System.out, hand.get(0));
        return 0;
    }

    private static double median(List<List<PipelineBench.Stage>> runs, String name) {
        List<Double> values = new ArrayList<>();
        for (List<PipelineBench.Stage> run : runs) {
            run.stream().filter(s -> s.name().equals(name)).findFirst().ifPresent(s -> values.add(s.seconds()));
        }
        if (values.isEmpty()) {
            return Double.NaN;
        }
        Collections.sort(values);
        int n = values.size();
        return n % 2 == 1 ? values.get(n / 2) : (values.get(n / 2 - 1) + values.get(n / 2)) / 2;
    }

    private static double sum(List<PipelineBench.Stage> run) {
        return run.stream().mapToDouble(PipelineBench.Stage::seconds).sum();
    }

    private static HeapWatch.Peak peak(List<PipelineBench.Stage> run) {
        return run.stream().map(PipelineBench.Stage::heap).reduce(HeapWatch.Peak.NONE, HeapWatch.Peak::max);
    }

    private static String heapSetting() {
        String v = System.getenv("KILN_DRIVER_MEMORY");
        return v == null || v.isBlank() ? "6g (default)" : v;
    }

    /** One {@code bin/kiln bench pipeline} process; its output goes to ours, its stages come back through a file. */
    private static List<PipelineBench.Stage> child(BenchCommand bench, int scale, PipelineBench.Side side) {
        String home = System.getProperty("kiln.home");
        if (home == null) {
            throw new KilnException("bench pipeline over several processes needs bin/kiln (the kiln.home property is not set)");
        }
        try {
            Path result = Files.createTempFile("kiln-bench-pipeline-", ".tsv");
            try {
                List<String> command = new ArrayList<>(List.of(Path.of(home, "bin", "kiln").toString(), "bench", "pipeline",
                        "--scale", Integer.toString(scale), "--side", side.name().toLowerCase(java.util.Locale.ROOT),
                        "--result", result.toString()));
                command.addAll(bench.passThrough());
                System.out.printf("[kiln] bench pipeline: x%d %s in a process of its own%n", scale, side.name().toLowerCase(java.util.Locale.ROOT));
                Process p = new ProcessBuilder(command).inheritIO().start();
                int rc = p.waitFor();
                if (rc != 0) {
                    throw new KilnException("bench pipeline x" + scale + " (" + side + ") exited with " + rc);
                }
                List<PipelineBench.Stage> stages = new ArrayList<>();
                for (String line : Files.readAllLines(result)) {
                    if (!line.isBlank()) {
                        stages.add(PipelineBench.Stage.parse(line));
                    }
                }
                return stages;
            } finally {
                Files.deleteIfExists(result);
            }
        } catch (IOException e) {
            throw new KilnException("bench pipeline: cannot run a child process: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KilnException("bench pipeline: interrupted", e);
        }
    }
}
