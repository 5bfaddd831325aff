package dev.kiln.training;

import static org.apache.spark.sql.functions.col;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;

/**
 * Positives and rows per (score, predicted label) of a prediction set: each task sorts its rows and counts
 * runs of equal keys into primitive arrays; the driver merges the tasks' runs. This is what a group-by would
 * give (-0.0 counted as 0.0, NaN as one value), without a shuffle or a Row object per group.
 */
final class ScoreGroups {
    /** One (score, predicted) pair: {@code score} null for rows without one. */
    record Group(Double score, double predicted, long positives, long rows) {}

    /** Ascending score (NaN above every number, null last), then ascending predicted label. */
    static final Comparator<Group> ORDER = Comparator.comparing(Group::score,
            Comparator.nullsLast(Comparator.<Double>naturalOrder())).thenComparingDouble(Group::predicted);

    private ScoreGroups() {
    }

    /**
     * The groups of {@code rows} (columns: score double, predicted double, label double with 1.0 = positive), in
     * {@link #ORDER}.
     */
    static Group[] of(Dataset<Row> rows) {
        Dataset<Row> sorted = rows.toDF("s", "d", "y").sortWithinPartitions(col("s").asc_nulls_last(), col("d").asc_nulls_last());
        List<Runs> parts = sorted.queryExecution().toRdd().toJavaRDD().mapPartitions(ScoreGroups::count).collect();
        List<Group> all = new ArrayList<>();
        for (Runs r : parts) {
            for (int i = 0; i < r.size; i++) {
                all.add(new Group(r.isNull[i] ? null : r.score[i], r.predicted[i], r.positives[i], r.rows[i]));
            }
        }
        Group[] groups = all.toArray(Group[]::new);
        Arrays.sort(groups, ORDER); // the tasks' runs are each sorted already
        int n = 0;
        for (Group g : groups) {
            if (n > 0 && ORDER.compare(groups[n - 1], g) == 0) {
                Group prev = groups[n - 1];
                groups[n - 1] = new Group(prev.score(), prev.predicted(), prev.positives() + g.positives(), prev.rows() + g.rows());
            } else {
                groups[n++] = g;
            }
        }
        return Arrays.copyOf(groups, n);
    }

    private static Iterator<Runs> count(Iterator<InternalRow> rows) {
        Runs out = new Runs();
        while (rows.hasNext()) {
            InternalRow r = rows.next();
            boolean isNull = r.isNullAt(0);
            double s = isNull ? 0.0 : normal(r.getDouble(0));
            double d = r.isNullAt(1) ? Double.NaN : normal(r.getDouble(1));
            long positive = !r.isNullAt(2) && r.getDouble(2) == 1.0 ? 1 : 0;
            int last = out.size - 1;
            if (last >= 0 && out.isNull[last] == isNull && Double.compare(out.score[last], s) == 0
                    && Double.compare(out.predicted[last], d) == 0) {
                out.positives[last] += positive;
                out.rows[last]++;
            } else {
                out.add(isNull, s, d, positive);
            }
        }
        return List.of(out).iterator();
    }

    /** -0.0 as 0.0 and every NaN as the one NaN, as Spark groups them. */
    private static double normal(double v) {
        return v == 0.0 ? 0.0 : Double.isNaN(v) ? Double.NaN : v;
    }

    /** One task's runs, in primitive arrays. */
    static final class Runs implements Serializable {
        private static final long serialVersionUID = 1L;
        int size;
        boolean[] isNull = new boolean[1024];
        double[] score = new double[1024];
        double[] predicted = new double[1024];
        long[] positives = new long[1024];
        long[] rows = new long[1024];

        void add(boolean nullScore, double s, double d, long positive) {
            if (size == score.length) {
                int grown = size * 2;
                isNull = Arrays.copyOf(isNull, grown);
                score = Arrays.copyOf(score, grown);
                predicted = Arrays.copyOf(predicted, grown);
                positives = Arrays.copyOf(positives, grown);
                rows = Arrays.copyOf(rows, grown);
            }
            isNull[size] = nullScore;
            score[size] = s;
            predicted[size] = d;
            positives[size] = positive;
            rows[size] = 1;
            size++;
        }

        private void writeObject(java.io.ObjectOutputStream out) throws java.io.IOException {
            // Only the filled part travels.
            isNull = Arrays.copyOf(isNull, size);
            score = Arrays.copyOf(score, size);
            predicted = Arrays.copyOf(predicted, size);
            positives = Arrays.copyOf(positives, size);
            rows = Arrays.copyOf(rows, size);
            out.defaultWriteObject();
        }
    }
}
