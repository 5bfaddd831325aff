package dev.kiln.bench;

import static org.apache.spark.sql.functions.col;

import dev.kiln.api.Kiln;
import dev.kiln.training.registry.ModelVersion;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.execution.FileSourceScanExec;
import org.apache.spark.sql.execution.SparkPlan;

/**
 * {@code kiln bench requests}: what a request from a notebook costs, small and large. Point-in-time features
 * ({@code Kiln.historicalFeatures} with the model's feature references) and scores ({@code Kiln.score}) for 3 flights
 * of one day and for 500,000 flights, on the demo lakehouse (after {@code bin/kiln demo}): time of the first request
 * in this process (cold: classes, catalog and Delta logs loaded on the way) and the median of the next rounds (warm),
 * and the files the request read, from the feature tables and in all (the scans' own {@code numFiles} metric, over
 * the request's plan and every query it ran on the way: a small request's collect of its rows, the last-period
 * lookups).
 */
final class RequestBench {
    private static final String DAY = "2001-06-15";

    private RequestBench() {
    }

    private record Request(String name, long rows, java.util.function.Supplier<Dataset<Row>> plan) {}

    static int run(BenchContext ctx, String modelUri, int rounds) {
        Kiln kiln = ctx.kiln();
        ModelVersion m = kiln.model(modelUri);
        List<String> refs = m.featureRefs();
        String eventTime = kiln.trainingSetById(m.trainingSetId()).eventTime();
        Dataset<Row> flights = kiln.table("raw.flights");
        java.util.function.Function<Long, Dataset<Row>> rows = n -> (n <= 10
                ? flights.where(col("flight_date").equalTo(java.sql.Date.valueOf(DAY)))
                : flights.where(col("flight_date").geq(java.sql.Date.valueOf("2001-05-01"))))
                .select("origin", "destination", eventTime, "distance").limit(n.intValue());
        int featureFiles = 0;
        for (String table : tablesOf(refs)) {
            featureFiles += kiln.table(table).inputFiles().length;
        }
        List<Request> requests = List.of(
                new Request("features", 3, () -> kiln.historicalFeatures(rows.apply(3L), eventTime, refs)),
                new Request("score", 3, () -> kiln.score(rows.apply(3L), m.uri().toString())),
                new Request("features", 500_000, () -> kiln.historicalFeatures(rows.apply(500_000L), eventTime, refs)),
                new Request("score", 500_000, () -> kiln.score(rows.apply(500_000L), m.uri().toString())));
        ctx.out().printf("bench requests: %s, features %s (feature tables: %d files), events from raw.flights;"
                + " 1 cold + %d warm rounds%n", m.uri(), String.join(", ", tablesOf(refs)), featureFiles, rounds);
        ctx.out().printf("%-9s %9s %9s %9s %14s %12s%n", "request", "rows", "cold s", "warm s", "feature files", "files read");
        int[] seen = new int[2];
        org.apache.spark.sql.util.QueryExecutionListener listener = new org.apache.spark.sql.util.QueryExecutionListener() {
            @Override
            public void onSuccess(String funcName, org.apache.spark.sql.execution.QueryExecution qe, long durationNs) {
                int[] f = filesRead(qe.executedPlan());
                synchronized (seen) {
                    seen[0] += f[0];
                    seen[1] += f[1];
                }
            }

            @Override
            public void onFailure(String funcName, org.apache.spark.sql.execution.QueryExecution qe, Exception exception) {
            }
        };
        kiln.spark().listenerManager().register(listener);
        for (Request r : requests) {
            double cold = 0;
            List<Double> warm = new ArrayList<>();
            int[] files = null;
            for (int i = 0; i <= rounds; i++) {
                drain(kiln);
                synchronized (seen) {
                    seen[0] = 0;
                    seen[1] = 0;
                }
                long start = System.nanoTime();
                Dataset<Row> df = r.plan().get();
                df.queryExecution().toRdd().count(); // the frame's own plan, so that its scans' metrics are the ones read
                double s = (System.nanoTime() - start) / 1e9;
                if (i == 0) {
                    cold = s;
                    files = filesRead(df.queryExecution().executedPlan());
                    drain(kiln);
                    synchronized (seen) {
                        files[0] += seen[0];
                        files[1] += seen[1];
                    }
                } else {
                    warm.add(s);
                }
            }
            java.util.Collections.sort(warm);
            ctx.out().printf("%-9s %9s %9.2f %9.2f %14d %12d%n", r.name(), String.format("%,d", r.rows()), cold,
                    warm.get(warm.size() / 2), files[0], files[1]);
        }
        kiln.spark().listenerManager().unregister(listener);
        return 0;
    }

    /** Waits until the listeners saw every query run so far. */
    private static void drain(Kiln kiln) {
        try {
            kiln.spark().sparkContext().listenerBus().waitUntilEmpty();
        } catch (java.util.concurrent.TimeoutException e) {
            throw new dev.kiln.lakehouse.KilnException("Spark's listener bus did not drain: " + e.getMessage(), e);
        }
    }

    private static List<String> tablesOf(List<String> refs) {
        return refs.stream().map(dev.kiln.features.pointintime.FeatureRef::parse)
                .map(ref -> "features." + ref.set() + "__v" + ref.version().orElse(1)).distinct().toList();
    }

    /** Files read by the plan's scans: {feature tables, all}. */
    private static int[] filesRead(SparkPlan plan) {
        int[] out = new int[2];
        for (FileSourceScanExec scan : scans(plan)) {
            int n = ((Number) scan.metrics().apply("numFiles").value()).intValue();
            out[1] += n;
            if (scan.relation().location().rootPaths().mkString().contains("/features/")) {
                out[0] += n;
            }
        }
        return out;
    }

    private static List<FileSourceScanExec> scans(SparkPlan plan) {
        List<FileSourceScanExec> out = new ArrayList<>();
        if (plan instanceof FileSourceScanExec scan) {
            out.add(scan);
        }
        if (plan instanceof org.apache.spark.sql.execution.adaptive.AdaptiveSparkPlanExec a) {
            out.addAll(scans(a.executedPlan()));
        }
        if (plan instanceof org.apache.spark.sql.execution.adaptive.QueryStageExec q) {
            out.addAll(scans(q.plan()));
        }
        for (SparkPlan child : scala.jdk.javaapi.CollectionConverters.asJava(plan.children())) {
            out.addAll(scans(child));
        }
        return out;
    }
}
