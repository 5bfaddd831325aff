package dev.kiln.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.kiln.lakehouse.TestLakehouse;
import dev.kiln.lakehouse.config.ConfigException;
import dev.kiln.lakehouse.config.ConfigSection;
import dev.kiln.training.decision.Decision;
import dev.kiln.training.decision.DecisionPolicy;
import dev.kiln.training.decision.Thresholds;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/** Decision thresholds: hand-checked answers for every policy, and the distributed choice equal to the driver's. */
class DecisionThresholdTest {
    private static final SparkSession SPARK = TestLakehouse.get().spark();

    /**
     * Ten events, five positive. From the highest score down, (threshold: TP, FP): 0.9: 1,0; 0.8: 1,1; 0.7: 2,1;
     * 0.6: 3,1; 0.5: 3,2; 0.4: 3,3; 0.3: 4,3; 0.2: 4,4; 0.1: 5,5 (0.1 holds one event of each class).
     * F1 = 2TP / (TP + FP + 5): 1/3, 2/7, 1/2, 2/3, 3/5, 6/11, 2/3, 8/13, 2/3.
     */
    private static final double[][] EVENTS = {{0.9, 1}, {0.8, 0}, {0.7, 1}, {0.6, 1}, {0.5, 0}, {0.4, 0}, {0.3, 1},
            {0.2, 0}, {0.1, 0}, {0.1, 1}};

    @Test
    void everyPolicyChoosesTheHandCheckedThreshold() {
        // F1 2/3 at 0.6, 0.3 and 0.1: the tie goes to the highest threshold.
        check(new DecisionPolicy.MaxF1(), 0.6, 0.75, 0.6, 2.0 / 3);
        // Precision >= 0.7 at 0.9 (1.0) and 0.6 (0.75): the higher recall is 0.6's.
        check(new DecisionPolicy.PrecisionAtLeast(0.7), 0.6, 0.75, 0.6, 2.0 / 3);
        check(new DecisionPolicy.PrecisionAtLeast(0.99), 0.9, 1.0, 0.2, 1.0 / 3);
        // Unreachable precision: the highest precision there is (1.0 at 0.9).
        check(new DecisionPolicy.PrecisionAtLeast(1.0), 0.9, 1.0, 0.2, 1.0 / 3);
        // Recall >= 0.8 at 0.3 (precision 4/7), 0.2 (1/2) and 0.1 (1/2).
        check(new DecisionPolicy.RecallAtLeast(0.8), 0.3, 4.0 / 7, 0.8, 8.0 / 12);
        // Cost FP + 5 FN: nothing 25, 0.9 20, 0.8 21, 0.7 16, 0.6 11, 0.5 12, 0.4 13, 0.3 8, 0.2 9, 0.1 5.
        check(new DecisionPolicy.Cost(1, 5), 0.1, 0.5, 1.0, 2.0 / 3);
        // Cost 5 FP + FN: nothing 5, 0.9 4, 0.8 9, ...: only the top score is worth predicting.
        check(new DecisionPolicy.Cost(5, 1), 0.9, 1.0, 0.2, 1.0 / 3);
        // A fixed threshold is measured where it is: 0.55 predicts the four events at 0.6 and above.
        check(new DecisionPolicy.Fixed(0.55), 0.55, 0.75, 0.6, 2.0 / 3);
    }

    @Test
    void predictingNothingIsACandidate() {
        // The top score is a negative: with false alarms 10 times a miss, predicting nothing (cost 1) wins.
        Dataset<Row> rows = SPARK.sql("SELECT * FROM VALUES (0.9D, 1L, 0L), (0.8D, 1L, 1L), (0.2D, 2L, 0L) AS t(s, n, p)");
        Decision d = Thresholds.choose(rows, "s", "p", "n", new DecisionPolicy.Cost(10, 1));
        assertEquals(Double.POSITIVE_INFINITY, d.threshold());
        assertEquals(0.0, d.recall());
        assertTrue(Double.isNaN(d.precision()), "no event predicted: no precision");
        Decision fixed = Thresholds.choose(rows, "s", "p", "n", new DecisionPolicy.Fixed(0.95));
        assertEquals(0.95, fixed.threshold());
        assertEquals(0.0, fixed.f1());
    }

    @Test
    void theDistributedChoiceEqualsTheDriversWhereverPartitionsAreCut() {
        Random random = new Random(7);
        List<Row> rows = new ArrayList<>();
        List<BinaryCurves.Point> points = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            double s = Math.round(random.nextDouble() * 500) / 500.0; // ties: about 40 events a score
            boolean positive = random.nextDouble() < s * 0.6;
            rows.add(org.apache.spark.sql.RowFactory.create(s, 1L, positive ? 1L : 0L));
            points.add(new BinaryCurves.Point(s, positive ? 1 : 0, 1));
        }
        Dataset<Row> df = SPARK.createDataFrame(rows, new org.apache.spark.sql.types.StructType()
                .add("s", "double").add("n", "long").add("p", "long")).repartition(7);
        for (DecisionPolicy policy : List.of(new DecisionPolicy.MaxF1(), new DecisionPolicy.PrecisionAtLeast(0.5),
                new DecisionPolicy.RecallAtLeast(0.9), new DecisionPolicy.Cost(1, 3), new DecisionPolicy.Fixed(0.5))) {
            Decision driver = Thresholds.choose(points.toArray(BinaryCurves.Point[]::new), policy);
            for (int partitions : List.of(1, 3, 16)) {
                String before = SPARK.conf().get("spark.sql.shuffle.partitions");
                SPARK.conf().set("spark.sql.shuffle.partitions", String.valueOf(partitions));
                try {
                    assertEquals(driver, Thresholds.choose(df, "s", "p", "n", policy), policy.text() + " in " + partitions);
                } finally {
                    SPARK.conf().set("spark.sql.shuffle.partitions", before);
                }
            }
        }
    }

    @Test
    void theDeclarationIsCheckedAndItsTextReadsBack() {
        assertEquals(new DecisionPolicy.MaxF1(), parse(""));
        assertEquals(new DecisionPolicy.MaxF1(), parse("decision { policy = max-f1 }"));
        assertEquals(new DecisionPolicy.PrecisionAtLeast(0.5), parse("decision { precision-at-least = 0.5 }"));
        assertEquals(new DecisionPolicy.RecallAtLeast(0.3), parse("decision { recall-at-least = 0.3 }"));
        assertEquals(new DecisionPolicy.Cost(1, 5), parse("decision { cost { false-positive = 1, false-negative = 5 } }"));
        assertEquals(new DecisionPolicy.Fixed(0.5), parse("decision.fixed = 0.5"));
        for (DecisionPolicy p : List.of(new DecisionPolicy.MaxF1(), new DecisionPolicy.PrecisionAtLeast(0.5),
                new DecisionPolicy.RecallAtLeast(0.3), new DecisionPolicy.Cost(1, 5), new DecisionPolicy.Fixed(0.25))) {
            assertEquals(p, DecisionPolicy.ofText(p.text()), p.text());
        }
        assertEquals("models.m.decision.recall-at-least: must be between 0 and 1, got 30.0",
                assertThrows(ConfigException.class, () -> parse("decision.recall-at-least = 30")).getMessage());
        assertEquals("models.m.decision: give one decision policy: policy = max-f1, precision-at-least = 0.5,"
                        + " recall-at-least = 0.3, cost { false-positive = 1, false-negative = 5 } or fixed = 0.5 (got fixed,"
                        + " recall-at-least)",
                assertThrows(ConfigException.class, () -> parse("decision { fixed = 0.5, recall-at-least = 0.3 }")).getMessage());
        assertTrue(assertThrows(ConfigException.class, () -> parse("decision { policy = min-f1 }")).getMessage()
                .startsWith("models.m.decision.policy: unknown policy 'min-f1'"));
    }

    private static DecisionPolicy parse(String text) {
        return DecisionPolicy.parse(ConfigSection.root(ConfigFactory.parseString("models.m { " + text + " }")).section("models.m"));
    }

    private static void check(DecisionPolicy policy, double threshold, double precision, double recall, double f1) {
        List<BinaryCurves.Point> points = new ArrayList<>();
        StringBuilder values = new StringBuilder();
        for (double[] e : EVENTS) {
            points.add(new BinaryCurves.Point(e[0], (long) e[1], 1));
            values.append(values.length() == 0 ? "" : ", ").append(String.format("(%sD, 1L, %dL)", e[0], (long) e[1]));
        }
        Dataset<Row> rows = SPARK.sql("SELECT * FROM VALUES " + values + " AS t(s, n, p)");
        for (Decision d : List.of(Thresholds.choose(rows, "s", "p", "n", policy),
                Thresholds.choose(points.toArray(BinaryCurves.Point[]::new), policy))) {
            String what = policy.text() + ": " + d;
            assertEquals(threshold, d.threshold(), 0, what);
            assertEquals(precision, d.precision(), 1e-12, what);
            assertEquals(recall, d.recall(), 1e-12, what);
            assertEquals(f1, d.f1(), 1e-12, what);
            assertEquals(policy.text(), d.policy());
            assertTrue(d.atOrAbove());
        }
    }
}
