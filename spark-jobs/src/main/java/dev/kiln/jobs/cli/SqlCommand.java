package dev.kiln.jobs.cli;

import dev.kiln.lakehouse.KilnException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "sql", mixinStandardHelpOptions = true, description = "Run SQL against the lakehouse catalog and print the results as a table.")
final class SqlCommand implements Callable<Integer> {
    @ParentCommand
    KilnCommand parent;

    @Mixin
    GlobalOptions global;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Parameters(paramLabel = "QUERY", description = "The SQL to run.")
        String query;

        @Option(names = "-f", paramLabel = "FILE", description = "Run the ;-separated statements in FILE (semicolons in strings, quoted identifiers and comments do not count).")
        Path file;
    }

    @Option(names = "--max-rows", description = "Rows to print per statement (default: ${DEFAULT-VALUE}).")
    int maxRows = 1000;

    @Override
    public Integer call() {
        List<String> statements = input.file != null ? SqlScript.split(read(input.file)) : List.of(input.query);
        try (KilnContext ctx = parent.open(global)) {
            for (String statement : statements) {
                try {
                    Dataset<Row> result = ctx.lakehouse().spark().sql(statement);
                    Tables.print(ctx.out(), result, maxRows);
                } catch (KilnException e) {
                    throw e;
                } catch (Exception e) { // AnalysisException and SparkException are checked in Java's eyes
                    throw new KilnException(KilnException.firstLine(e.getMessage()), e);
                }
            }
        }
        return ExitCodes.OK;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new KilnException("cannot read SQL file " + file + ": " + e.getMessage());
        }
    }
}
