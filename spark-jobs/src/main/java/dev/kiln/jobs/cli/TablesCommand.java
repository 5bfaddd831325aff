package dev.kiln.jobs.cli;

import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "tables", mixinStandardHelpOptions = true, description = "List, inspect and maintain the lakehouse tables.",
        subcommands = {TablesCommand.Describe.class, TablesCommand.History.class, TablesCommand.Optimize.class,
                TablesCommand.Vacuum.class})
final class TablesCommand implements Callable<Integer> {
    @ParentCommand
    KilnCommand parent;

    @Mixin
    GlobalOptions global;

    @Override
    public Integer call() {
        try (KilnContext ctx = parent.open(global)) {
            Lakehouse lakehouse = ctx.lakehouse();
            List<String[]> cells = new ArrayList<>();
            cells.add(new String[] {"table", "location"});
            for (TableName t : lakehouse.tables()) {
                cells.add(new String[] {t.toString(), lakehouse.locationOf(t)});
            }
            Tables.print(ctx.out(), cells);
        }
        return ExitCodes.OK;
    }

    @Command(name = "describe", mixinStandardHelpOptions = true, description = "Columns, partitioning, size and location of a table.")
    static final class Describe implements Callable<Integer> {
        @ParentCommand
        TablesCommand tables;

        @Mixin
        GlobalOptions global;

        @Parameters(paramLabel = "TABLE", description = "schema.table")
        String table;

        @Override
        public Integer call() {
            TableName name = TableName.parse(table);
            try (KilnContext ctx = tables.parent.open(global)) {
                ctx.lakehouse().delta(name);
                Tables.print(ctx.out(), ctx.lakehouse().spark().sql("DESCRIBE TABLE " + name.quoted()), 1000);
                Tables.print(ctx.out(), ctx.lakehouse().spark().sql("DESCRIBE DETAIL " + name.quoted())
                        .select("format", "location", "partitionColumns", "numFiles", "sizeInBytes", "createdAt",
                                "lastModified"), 1);
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "history", mixinStandardHelpOptions = true, description = "Delta history of a table (DESCRIBE HISTORY), newest first.")
    static final class History implements Callable<Integer> {
        @ParentCommand
        TablesCommand tables;

        @Mixin
        GlobalOptions global;

        @Parameters(paramLabel = "TABLE", description = "schema.table")
        String table;

        @Option(names = "--limit", description = "How many versions (default: ${DEFAULT-VALUE}).")
        int limit = 20;

        @Override
        public Integer call() {
            TableName name = TableName.parse(table);
            try (KilnContext ctx = tables.parent.open(global)) {
                Tables.print(ctx.out(), ctx.lakehouse().history(name)
                        .select("version", "timestamp", "operation", "operationParameters", "operationMetrics",
                                "userMetadata").limit(limit), limit);
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "optimize", mixinStandardHelpOptions = true, description = "Compact small files (OPTIMIZE), optionally Z-ordered by columns.")
    static final class Optimize implements Callable<Integer> {
        @ParentCommand
        TablesCommand tables;

        @Mixin
        GlobalOptions global;

        @Parameters(paramLabel = "TABLE", description = "schema.table")
        String table;

        @Option(names = "--zorder-by", split = ",", paramLabel = "COLUMN", description = "Z-order by these columns.")
        List<String> zOrderBy = new ArrayList<>();

        @Override
        public Integer call() {
            TableName name = TableName.parse(table);
            try (KilnContext ctx = tables.parent.open(global)) {
                Tables.print(ctx.out(), ctx.kiln().optimize(name.toString(), zOrderBy)
                        .selectExpr("metrics.numFilesAdded", "metrics.numFilesRemoved", "metrics.totalConsideredFiles"), 1);
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "vacuum", mixinStandardHelpOptions = true, description = "Delete files no longer referenced by recent versions (VACUUM).")
    static final class Vacuum implements Callable<Integer> {
        @ParentCommand
        TablesCommand tables;

        @Mixin
        GlobalOptions global;

        @Parameters(paramLabel = "TABLE", description = "schema.table")
        String table;

        @Option(names = "--retain-hours", description = "Keep files needed by versions younger than this (Delta default: 168);"
                + " never less than the versions registered training sets and models pin need.")
        Double retainHours;

        @Option(names = "--force", description = "Vacuum with --retain-hours even where that deletes files pinned versions"
                + " need (they are listed; rebuilding or reproducing them fails afterwards).")
        boolean force;

        @Override
        public Integer call() {
            TableName name = TableName.parse(table);
            try (KilnContext ctx = tables.parent.open(global)) {
                ctx.out().println(ctx.kiln().vacuum(name.toString(), retainHours, force).summary());
            }
            return ExitCodes.OK;
        }
    }
}
