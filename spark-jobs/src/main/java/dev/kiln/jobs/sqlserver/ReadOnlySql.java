package dev.kiln.jobs.sqlserver;

import dev.kiln.lakehouse.KilnException;
import java.util.Set;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.SparkSessionExtensions;
import org.apache.spark.sql.catalyst.plans.logical.Command;
import org.apache.spark.sql.catalyst.plans.logical.InsertIntoStatement;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.ParsedStatement;
import scala.Function1;
import scala.runtime.BoxedUnit;

/**
 * A Spark session extension ({@code spark.sql.extensions}) that makes a session read-only: an analyzer check
 * refuses every statement whose analyzed plan holds a command other than the read-only ones (SHOW, DESCRIBE,
 * Delta's DESCRIBE HISTORY/DETAIL, EXPLAIN, SET, RESET, USE). So INSERT, MERGE, UPDATE, DELETE, CREATE, DROP,
 * ALTER, CACHE, ADD JAR, OPTIMIZE, VACUUM, ... fail at analysis, before anything runs; queries run as usual, and so
 * does a temporary view (session-local; MLlib's SQLTransformer registers one when a model scores).
 * An allow-list rather than a deny-list: a command Spark or Delta adds later is refused until named here.
 */
public final class ReadOnlySql implements Function1<SparkSessionExtensions, BoxedUnit> {
    /** Commands that read the catalog or change only this session's settings. */
    static final Set<String> READ_ONLY_COMMANDS = Set.of(
            // Spark's v1 commands
            "SetCommand", "ResetCommand", "SetNamespaceCommand", "ExplainCommand", "ShowTablesCommand",
            "ShowColumnsCommand", "ShowPartitionsCommand", "ShowCreateTableCommand", "ShowCreateTableAsSerdeCommand",
            "ShowTablePropertiesCommand", "ShowFunctionsCommand", "ShowViewsCommand", "ShowCatalogsCommand",
            "ShowCurrentNamespaceCommand", "DescribeTableCommand", "DescribeColumnCommand", "DescribeFunctionCommand",
            "DescribeDatabaseCommand", "DescribeQueryCommand",
            // Spark's v2 (logical) commands
            "ShowTables", "ShowTablesExtended", "ShowNamespaces", "ShowViews", "ShowColumns", "ShowFunctions",
            "ShowTableProperties", "ShowPartitions", "ShowCreateTable", "ShowCurrentNamespace", "ShowCatalogs",
            "DescribeRelation", "DescribeColumn", "DescribeNamespace", "DescribeFunction", "SetCatalogAndNamespace",
            // Delta Lake
            "DescribeDeltaHistory", "DescribeDeltaHistoryCommand", "DescribeDeltaDetail", "DescribeDeltaDetailCommand",
            "ShowDeltaTableColumnsCommand");

    @Override
    @SuppressWarnings("unchecked")
    public BoxedUnit apply(SparkSessionExtensions extensions) {
        Function1<SparkSession, Function1<LogicalPlan, BoxedUnit>> rule = session -> plan -> {
            check(plan, session.conf().get(ServedSessions.SERVER_CONF, "sql-server"));
            return BoxedUnit.UNIT;
        };
        extensions.injectCheckRule(rule);
        return BoxedUnit.UNIT;
    }

    /** As {@link #check(LogicalPlan, String)} for the SQL server. */
    static void check(LogicalPlan plan) {
        check(plan, "sql-server");
    }

    /**
     * Throws, naming the statement kind and the switch, when {@code plan} would change anything; {@code server} is the
     * command serving the session ({@code sql-server}, {@code connect-server}).
     */
    static void check(LogicalPlan plan, String server) {
        String refused = firstWrite(plan);
        if (refused != null) {
            String what = server.equals("connect-server") ? "Spark Connect server" : "SQL server";
            throw new KilnException("the Kiln " + what + " is read-only: " + refused + " is refused (queries, SHOW,"
                    + " DESCRIBE, EXPLAIN, SET and temporary views work); start kiln " + server + " with --allow-writes"
                    + " (or kiln." + server + ".allow-writes = true) to run DDL and writes through it");
        }
    }

    private static String firstWrite(LogicalPlan plan) {
        String name = plan.getClass().getSimpleName();
        // A temporary view lives in this session only and writes nothing (MLlib's SQLTransformer, inside a model's
        // pipeline, registers one to run its statement: kiln_score needs it).
        if (plan instanceof org.apache.spark.sql.execution.command.CreateViewCommand v
                && v.viewType() == org.apache.spark.sql.catalyst.analysis.LocalTempView$.MODULE$) {
            return null;
        }
        // A statement the analyzer left unconverted (InsertIntoStatement, Delta's RestoreTableStatement) is a write too.
        boolean statement = plan instanceof ParsedStatement || name.endsWith("Statement");
        if (plan instanceof InsertIntoStatement || ((statement || plan instanceof Command) && !READ_ONLY_COMMANDS.contains(name))) {
            return name;
        }
        for (LogicalPlan child : scala.jdk.javaapi.CollectionConverters.asJava(plan.children())) {
            String found = firstWrite(child);
            if (found != null) {
                return found;
            }
        }
        return null;
    }
}
