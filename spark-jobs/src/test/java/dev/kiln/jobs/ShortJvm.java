package dev.kiln.jobs;

/**
 * JVM options for the short processes the integration tests start on small data (a job of a few seconds' work).
 * Such a JVM spends about half its CPU compiling Spark's code with C2 for a run too short to profit from it:
 * with C1 only, {@code kiln features materialize} on 42 rows took 58 s of CPU and 34 s wall by default, 33 s of
 * CPU and 28 s wall with {@link #JIT}. Longer JVMs are slower with it (a unit-test module: 221 s by default, 355 s
 * with C1 only), so neither the test JVMs nor DemoIT's pipeline on flights-3m use it; only the JIT tier differs.
 */
final class ShortJvm {
    static final String JIT = "-XX:TieredStopAtLevel=1";

    private ShortJvm() {}
}
