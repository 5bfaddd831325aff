package dev.kiln.training;

import java.io.Serializable;
import java.util.Arrays;

/**
 * A sum of doubles kept exact (Shewchuk's non-overlapping partials, as Python's {@code math.fsum}) and rounded
 * once at the end: the result is the correctly rounded true sum, so it does not depend on the order in which the
 * terms are added or on how they were split between tasks. This is what lets a distributed metric be computed
 * over any partitioning and still come out the same to the bit. NaN and infinite terms are summed apart and win.
 */
public final class ExactSum implements Serializable {
    private static final long serialVersionUID = 1L;

    private double[] partials = new double[4];
    private int size;
    private double nonFinite;
    private boolean anyNonFinite;

    public void add(double x) {
        if (!Double.isFinite(x)) {
            nonFinite += x;
            anyNonFinite = true;
            return;
        }
        int i = 0;
        for (int j = 0; j < size; j++) {
            double y = partials[j];
            if (Math.abs(x) < Math.abs(y)) {
                double t = x;
                x = y;
                y = t;
            }
            double hi = x + y;
            double lo = y - (hi - x);
            if (lo != 0.0) {
                partials[i++] = lo;
            }
            x = hi;
        }
        if (!Double.isFinite(x)) { // the partial sum overflowed
            nonFinite += x;
            anyNonFinite = true;
            size = i;
            return;
        }
        if (i == partials.length) {
            partials = Arrays.copyOf(partials, i * 2);
        }
        partials[i++] = x;
        size = i;
    }

    public void add(ExactSum other) {
        for (int j = 0; j < other.size; j++) {
            add(other.partials[j]);
        }
        if (other.anyNonFinite) {
            nonFinite += other.nonFinite;
            anyNonFinite = true;
        }
    }

    /** The sum rounded to the nearest double (ties to even). */
    public double value() {
        if (anyNonFinite) {
            return nonFinite;
        }
        int n = size;
        if (n == 0) {
            return 0.0;
        }
        double hi = partials[--n];
        double lo = 0.0;
        while (n > 0) {
            double x = hi;
            double y = partials[--n];
            hi = x + y;
            double yr = hi - x;
            lo = y - yr;
            if (lo != 0.0) {
                break;
            }
        }
        if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
            double y = lo * 2;
            double x = hi + y;
            double yr = x - hi;
            if (y == yr) {
                hi = x;
            }
        }
        return hi;
    }
}
