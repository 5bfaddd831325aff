package dev.kiln.jobs.cli;

import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.config.ConfigException;
import dev.kiln.lakehouse.config.KilnConfig;
import dev.kiln.lakehouse.config.KilnConfigLoader;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code kiln}: the command line of the platform. */
@Command(name = "kiln", mixinStandardHelpOptions = true, version = "kiln 0.1.0",
        description = "Batch ML platform on Apache Spark and Delta Lake.",
        subcommands = {IngestCommand.class, FeaturesCommand.class, SqlCommand.class, TablesCommand.class, RunsCommand.class,
                TrainingSetCommand.class, TrainCommand.class, ModelsCommand.class, ScoreCommand.class, EvaluateCommand.class, EstimateCommand.class, DriftCommand.class, ReportCommand.class, AirflowCommand.class, GpuPlanCommand.class, CatalogConfCommand.class, HistoryServerCommand.class, SqlServerCommand.class, ConnectServerCommand.class, DemoCommand.class, CommandLine.HelpCommand.class})
public final class KilnCommand implements Runnable {
    @Mixin
    GlobalOptions global;

    private String[] args = new String[0];

    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }

    /** Loads the configuration from the options given before and after the command name. */
    KilnContext open(GlobalOptions commandOptions) {
        List<String> settings = new ArrayList<>(global.conf);
        settings.addAll(commandOptions.conf);
        String env = commandOptions.environment != null ? commandOptions.environment : global.environment;
        Path confDir = commandOptions.confDir != null ? commandOptions.confDir
                : global.confDir != null ? global.confDir : defaultConfDir();
        List<String> overlays = global.gpu || commandOptions.gpu ? List.of("gpu") : List.of();
        java.util.Map<String, String> overrides = KilnConfigLoader.parseOverrides(settings);
        KilnConfig config = new KilnConfigLoader(confDir).load(env, overlays, overrides);
        return new KilnContext(config, confDir, env, overrides, redact(args), System.out);
    }

    static Path defaultConfDir() {
        String fromEnv = System.getenv("KILN_CONF_DIR");
        if (fromEnv != null && !fromEnv.isBlank()) {
            return Path.of(fromEnv);
        }
        String home = System.getProperty("kiln.home");
        if (home != null && Files.isDirectory(Path.of(home, "conf"))) {
            return Path.of(home, "conf");
        }
        return Path.of("conf");
    }

    /** The command line as recorded in ops.job_runs; values of settings that look secret are masked. */
    static String redact(String[] args) {
        List<String> out = new ArrayList<>();
        for (String a : args) {
            int eq = a.indexOf('=');
            out.add(eq > 0 && looksSecret(a.substring(0, eq)) ? a.substring(0, eq) + "=***" : a);
        }
        return String.join(" ", out);
    }

    /** Whether a setting's key names a secret (its value is never printed or recorded). */
    static boolean looksSecret(String key) {
        String k = key.toLowerCase(java.util.Locale.ROOT);
        return k.contains("password") || k.contains("secret") || k.contains("token") || k.contains("credential") || k.endsWith(".key");
    }

    private static Throwable conflict(Throwable e) {
        return dev.kiln.lakehouse.catalog.DeltaConflicts.find(e).orElse(null);
    }

    static boolean isWriteConflict(Throwable e) {
        return conflict(e) != null;
    }

    private static String conflictName(Throwable e) {
        Throwable t = conflict(e);
        return t.getClass().getSimpleName() + ": " + KilnException.firstLine(t.getMessage());
    }

    /**
     * What is wrong with a command line as written in the docs, without running it: parsed with {@code --help} appended
     * (so required arguments shown as placeholders are not demanded), every word must be a known command, a known
     * option or a parameter the command takes. Empty when the line is a valid Kiln command.
     */
    public static List<String> problems(String... args) {
        return problems(new CommandLine(new KilnCommand()), args);
    }

    /** The same check against any picocli command tree (the bench's too). */
    public static List<String> problems(CommandLine cli, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        if (!all.contains("--help") && !all.contains("-h")) {
            all.add("--help");
        }
        List<String> out = new ArrayList<>();
        try {
            for (CommandLine.ParseResult r = cli.parseArgs(all.toArray(String[]::new)); r != null; r = r.subcommand()) {
                if (!r.unmatched().isEmpty()) {
                    out.add(r.commandSpec().qualifiedName() + ": unknown " + r.unmatched());
                }
                for (Exception e : r.errors()) {
                    out.add(r.commandSpec().qualifiedName() + ": " + e.getMessage());
                }
            }
        } catch (CommandLine.ParameterException e) {
            out.add(e.getMessage());
        }
        return out;
    }

    public static int run(String[] args) {
        KilnCommand root = new KilnCommand();
        root.args = args.clone();
        CommandLine cli = new CommandLine(root);
        PrintStream err = System.err;
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (e instanceof ConfigException || e instanceof dev.kiln.lakehouse.UnknownNameException) {
                err.println("kiln: config error: " + e.getMessage());
                return ExitCodes.USAGE;
            }
            if (e instanceof org.apache.spark.sql.AnalysisException) {
                err.println("kiln: " + commandLine.getCommandName() + " failed: " + KilnException.firstLine(e.getMessage()));
                return ExitCodes.JOB_FAILED;
            }
            if (isWriteConflict(e)) {
                // Delta refused this job's commit because another process committed first: nothing of it was written.
                err.println("kiln: " + commandLine.getCommandName() + " failed: a concurrent job committed to the same Delta"
                        + " table first, so this one wrote nothing (" + conflictName(e) + "); run it again");
                return ExitCodes.JOB_FAILED;
            }
            if (e instanceof KilnException) {
                err.println("kiln: " + commandLine.getCommandName() + " failed: " + e.getMessage());
                return ExitCodes.JOB_FAILED;
            }
            err.println("kiln: internal error in " + commandLine.getCommandName() + ":");
            e.printStackTrace(err);
            return ExitCodes.INTERNAL;
        });
        return cli.execute(args);
    }
}
