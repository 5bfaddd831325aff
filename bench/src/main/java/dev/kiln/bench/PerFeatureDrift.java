package dev.kiln.bench;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.isnan;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import dev.kiln.lakehouse.catalog.Identifiers;
import dev.kiln.reports.drift.DriftStatistics;
import dev.kiln.reports.drift.DriftStatistics.Kind;
import dev.kiln.reports.drift.DriftStatistics.Metric;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * The benchmark's baseline for {@code kiln drift}: one Spark job per column (its exact value counts per window,
 * collected), the statistics computed on the driver. Same definitions as {@link DriftStatistics}, separate code.
 */
final class PerFeatureDrift {
    private PerFeatureDrift() {
    }

    /** One column's value counts: value (null for missing), reference count, current count. */
    private static Row[] counts(Dataset<Row> reference, Dataset<Row> current, String column, boolean numeric) {
        Column c = col(Identifiers.quote(column));
        Column v = numeric ? when(isnan(c.cast("double")), lit(null).cast("double")).otherwise(c.cast("double")) : c.cast("string");
        Dataset<Row> both = reference.select(v.as("v"), lit(0).as("w")).unionByName(current.select(v.as("v"), lit(1).as("w")));
        return (Row[]) both.groupBy("v").agg(sum(when(col("w").equalTo(0), 1L).otherwise(0L)),
                sum(when(col("w").equalTo(1), 1L).otherwise(0L))).collect();
    }

    static List<Metric> numeric(Dataset<Row> reference, Dataset<Row> current, String column) {
        Row[] rows = counts(reference, current, column, true);
        long[] total = new long[2];
        long[] nulls = new long[2];
        List<Row> values = new ArrayList<>();
        for (Row r : rows) {
            for (int k = 0; k < 2; k++) {
                total[k] += r.getLong(1 + k);
                if (r.isNullAt(0)) {
                    nulls[k] += r.getLong(1 + k);
                }
            }
            if (!r.isNullAt(0)) {
                values.add(r);
            }
        }
        values.sort(Comparator.comparingDouble(r -> r.getDouble(0)));
        long[] n = {total[0] - nulls[0], total[1] - nulls[1]};
        double[] mean = new double[2];
        double[] std = new double[2];
        for (int k = 0; k < 2; k++) {
            double s = 0;
            for (Row r : values) {
                s += r.getDouble(0) * r.getLong(1 + k);
            }
            mean[k] = s / n[k];
            double ss = 0;
            for (Row r : values) {
                ss += Math.pow(r.getDouble(0) - mean[k], 2) * r.getLong(1 + k);
            }
            std[k] = n[k] > 1 ? Math.sqrt(ss / (n[k] - 1)) : Double.NaN;
        }
        List<Metric> out = new ArrayList<>();
        boolean scaled = n[0] > 1 && std[0] > 0;
        out.add(new Metric(column, Kind.NUMERIC, "mean_shift", scaled && n[1] > 0 ? (mean[1] - mean[0]) / std[0] : null));
        out.add(new Metric(column, Kind.NUMERIC, "std_shift", scaled && n[1] > 1 ? (std[1] - std[0]) / std[0] : null));
        out.add(new Metric(column, Kind.NUMERIC, "null_rate_change", (double) nulls[1] / total[1] - (double) nulls[0] / total[0]));
        Double ks = null;
        TreeSet<Double> edges = new TreeSet<>();
        if (n[0] > 0 && n[1] > 0) {
            long cumRef = 0;
            long cumCur = 0;
            int decile = 1;
            double max = 0;
            for (Row r : values) {
                cumRef += r.getLong(1);
                cumCur += r.getLong(2);
                max = Math.max(max, Math.abs((double) cumRef / n[0] - (double) cumCur / n[1]));
                while (decile < 10 && cumRef * 10 >= decile * n[0]) {
                    edges.add(r.getDouble(0));
                    decile++;
                }
            }
            ks = max;
        }
        out.add(new Metric(column, Kind.NUMERIC, "ks", ks));
        Double psi = null;
        if (ks != null) {
            double[] cut = edges.stream().mapToDouble(Double::doubleValue).toArray();
            long[][] bins = new long[2][cut.length + 1];
            for (Row r : values) {
                int b = 0;
                while (b < cut.length && r.getDouble(0) > cut[b]) {
                    b++;
                }
                bins[0][b] += r.getLong(1);
                bins[1][b] += r.getLong(2);
            }
            double p = 0;
            for (int b = 0; b <= cut.length; b++) {
                if (bins[0][b] + bins[1][b] == 0) {
                    continue;
                }
                double ref = Math.max((double) bins[0][b] / n[0], DriftStatistics.PSI_FLOOR);
                double cur = Math.max((double) bins[1][b] / n[1], DriftStatistics.PSI_FLOOR);
                p += (cur - ref) * Math.log(cur / ref);
            }
            psi = p;
        }
        out.add(new Metric(column, Kind.NUMERIC, "psi", psi));
        return out;
    }

    static List<Metric> categorical(Dataset<Row> reference, Dataset<Row> current, String column) {
        Row[] rows = counts(reference, current, column, false);
        long[] total = new long[2];
        long[] nulls = new long[2];
        for (Row r : rows) {
            for (int k = 0; k < 2; k++) {
                total[k] += r.getLong(1 + k);
                if (r.isNullAt(0)) {
                    nulls[k] += r.getLong(1 + k);
                }
            }
        }
        long[] n = {total[0] - nulls[0], total[1] - nulls[1]};
        double js = 0;
        double chi = 0;
        long unseen = 0;
        for (Row r : Arrays.stream(rows).filter(r -> !r.isNullAt(0)).toList()) {
            double a = r.getLong(1);
            double b = r.getLong(2);
            if (a == 0) {
                unseen += r.getLong(2);
            }
            if (n[0] > 0 && n[1] > 0) {
                double p = a / n[0];
                double q = b / n[1];
                double m = (p + q) / 2;
                js += (p > 0 ? p * Math.log(p / m) / Math.log(2) : 0) / 2 + (q > 0 ? q * Math.log(q / m) / Math.log(2) : 0) / 2;
                double er = (a + b) * n[0] / (n[0] + n[1]);
                double ec = (a + b) * n[1] / (n[0] + n[1]);
                chi += (a - er) * (a - er) / er + (b - ec) * (b - ec) / ec;
            }
        }
        boolean both = n[0] > 0 && n[1] > 0;
        List<Metric> out = new ArrayList<>();
        out.add(new Metric(column, Kind.CATEGORICAL, "null_rate_change", (double) nulls[1] / total[1] - (double) nulls[0] / total[0]));
        out.add(new Metric(column, Kind.CATEGORICAL, "js_distance", both ? Math.sqrt(Math.max(0, js)) : null));
        out.add(new Metric(column, Kind.CATEGORICAL, "chi_square", both ? chi : null));
        out.add(new Metric(column, Kind.CATEGORICAL, "unseen_share", n[1] == 0 ? null : (double) unseen / n[1]));
        return out;
    }
}
