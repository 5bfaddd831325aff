package dev.kiln.jobs;

import dev.kiln.jobs.cli.KilnCommand;

/** The {@code spark-submit} main class and the {@code bin/kiln} entry point. */
public final class KilnMain {
    private KilnMain() {}

    public static void main(String[] args) {
        int code = KilnCommand.run(args);
        System.out.flush();
        System.exit(code);
    }
}
