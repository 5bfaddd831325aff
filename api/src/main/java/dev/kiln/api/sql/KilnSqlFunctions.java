package dev.kiln.api.sql;

import dev.kiln.api.Kiln;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.config.KilnConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.SparkSessionExtensions;
import org.apache.spark.sql.catalyst.FunctionIdentifier;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.ExpressionInfo;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.unsafe.types.UTF8String;
import scala.Function1;
import scala.Tuple3;
import scala.collection.immutable.Seq;
import scala.runtime.BoxedUnit;

/**
 * Kiln's read verbs as SQL table-valued functions, a Spark session extension ({@code spark.sql.extensions}, added by
 * every Kiln session, {@code kiln catalog-conf}, {@code kiln sql} and the SQL server):
 * <ul>
 *   <li>{@code kiln_historical_features('<table or view>', '<event-time column>', array('<set>:<feature>', ...))}: the
 *       rows with the features as of each row's event time ({@link Kiln#historicalFeatures});</li>
 *   <li>{@code kiln_score('<table or view>', '<model URI>')}: the rows scored, nothing written ({@link Kiln#score});</li>
 *   <li>{@code kiln_training_set('<name>')}: the rows of a training set's newest build;</li>
 *   <li>{@code kiln_model('<model URI>')}: one row, the registered version the URI names (an alias resolved) with
 *       the columns its pipeline reads ({@code signature}): what a Spark Connect client needs to load and use it.</li>
 * </ul>
 * Arguments are constants; a table or view name is looked up in the calling session (its temporary views
 * included). Kiln is opened on the calling session once: with the configuration of the process that started the
 * application (a Kiln job, the SQL server), else the one named by the session's {@code spark.kiln.conf-dir} and
 * {@code spark.kiln.env}, with the {@code spark.kiln.override.*} settings on top (what {@code kiln catalog-conf}
 * prints; otherwise {@code KILN_CONF_DIR} or {@code ./conf}). Errors are Kiln's one-line messages.
 */
public final class KilnSqlFunctions implements Function1<SparkSessionExtensions, BoxedUnit> {
    public static final String CONF_DIR = "spark.kiln.conf-dir";
    public static final String ENV = "spark.kiln.env";
    /** Prefix of the settings that carry {@code --conf} overrides of Kiln's configuration ({@code kiln catalog-conf} prints them). */
    public static final String OVERRIDE = "spark.kiln.override.";

    private static final Map<SparkSession, Kiln> OPENED = java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());
    private static final Map<org.apache.spark.SparkContext, KilnConfig> CONFIGS =
            java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

    /** Lets the functions of {@code spark} use {@code kiln} (a Kiln job's own session) instead of opening one. */
    public static void bind(SparkSession spark, Kiln kiln) {
        OPENED.put(spark, kiln);
    }

    /**
     * Every session of {@code spark}'s application (the SQL server's one per connection) opens Kiln with
     * {@code config}, the configuration the process loaded, overrides included.
     */
    public static void bind(org.apache.spark.SparkContext context, KilnConfig config) {
        CONFIGS.put(context, config);
    }

    @Override
    public BoxedUnit apply(SparkSessionExtensions extensions) {
        register(extensions, "kiln_historical_features", "kiln_historical_features(table, event_time, features) - the rows of"
                + " a table or view with features as of each row's event time", 3, (kiln, args) -> kiln.historicalFeatures(
                        table(kiln, text(args, 0, "a table or view name")), text(args, 1, "the event-time column"),
                        texts(args, 2, "an array of feature references")));
        register(extensions, "kiln_score", "kiln_score(table, model_uri) - the rows of a table or view scored by a registered"
                + " model (nothing written)", 2, (kiln, args) -> kiln.score(table(kiln, text(args, 0, "a table or view name")),
                        text(args, 1, "a model URI (models:/<name>/<version> or models:/<name>@<alias>)")));
        register(extensions, "kiln_training_set", "kiln_training_set(name) - the rows of the newest build of a training set", 1,
                (kiln, args) -> kiln.rows(kiln.trainingSet(text(args, 0, "a training set name"))));
        register(extensions, "kiln_model", "kiln_model(model_uri) - the registered model version a URI names, with the"
                + " columns it reads (signature)", 1, (kiln, args) -> model(kiln, text(args, 0,
                        "a model URI (models:/<name>/<version> or models:/<name>@<alias>)")));
        return BoxedUnit.UNIT;
    }

    private static void register(SparkSessionExtensions extensions, String name, String usage, int arity,
            BiFunction<Kiln, List<Expression>, Dataset<Row>> body) {
        ExpressionInfo info = new ExpressionInfo(KilnSqlFunctions.class.getName(), null, name, usage, "");
        Function1<Seq<Expression>, LogicalPlan> builder = seq -> {
            List<Expression> args = scala.jdk.javaapi.CollectionConverters.asJava(seq);
            if (args.size() != arity) {
                throw new KilnException(name + " takes " + arity + " argument(s), got " + args.size() + ": " + usage);
            }
            SparkSession spark = SparkSession.active();
            try {
                return body.apply(kiln(spark), args).queryExecution().analyzed();
            } catch (KilnException e) {
                throw new KilnException(name + ": " + e.getMessage(), e);
            }
        };
        extensions.injectTableFunction(new Tuple3<>(new FunctionIdentifier(name), info, builder));
    }

    private static Kiln kiln(SparkSession spark) {
        synchronized (OPENED) {
            Kiln kiln = OPENED.get(spark);
            if (kiln == null) {
                KilnConfig config = CONFIGS.get(spark.sparkContext());
                if (config == null) {
                    String dir = spark.conf().get(CONF_DIR, "");
                    String env = spark.conf().get(ENV, "");
                    Map<String, String> overrides = new java.util.LinkedHashMap<>();
                    for (scala.Tuple2<String, String> kv : spark.sparkContext().getConf().getAllWithPrefix(OVERRIDE)) {
                        overrides.put(kv._1(), kv._2());
                    }
                    config = Kiln.loadConfig(dir.isBlank() ? null : dir, env.isBlank() ? null : env, overrides);
                }
                kiln = Kiln.open(spark, config);
                OPENED.put(spark, kiln);
            }
            return kiln;
        }
    }

    /** The ml.models row of the version {@code uri} names, plus its URI and signature (the pipeline is loaded to read it). */
    private static Dataset<Row> model(Kiln kiln, String uri) {
        dev.kiln.training.LoadedModel loaded = kiln.loadModel(uri);
        dev.kiln.training.registry.ModelVersion v = loaded.version();
        return kiln.models().where(org.apache.spark.sql.functions.col("name").equalTo(v.name())
                        .and(org.apache.spark.sql.functions.col("version").equalTo(v.version())))
                .select(org.apache.spark.sql.functions.lit(v.uri().toString()).as("uri"), org.apache.spark.sql.functions.col("*"),
                        org.apache.spark.sql.functions.array(loaded.signature().inputs().stream()
                                .map(org.apache.spark.sql.functions::lit).toArray(org.apache.spark.sql.Column[]::new))
                                .cast("array<string>").as("signature"));
    }

    private static Dataset<Row> table(Kiln kiln, String name) {
        try {
            return kiln.spark().table(name);
        } catch (Exception e) { // AnalysisException, undeclared
            throw new KilnException("no table or view '" + name + "': " + KilnException.firstLine(String.valueOf(e.getMessage())), e);
        }
    }

    private static Object constant(List<Expression> args, int i, String what) {
        Expression e = args.get(i);
        if (!e.foldable()) {
            throw new KilnException("argument " + (i + 1) + " must be a constant: " + what + " (got " + e.sql() + ")");
        }
        return e.eval(null);
    }

    private static String text(List<Expression> args, int i, String what) {
        Object v = constant(args, i, what);
        if (!(v instanceof UTF8String s)) {
            throw new KilnException("argument " + (i + 1) + " must be a string: " + what + " (got " + args.get(i).sql() + ")");
        }
        return s.toString();
    }

    private static List<String> texts(List<Expression> args, int i, String what) {
        Object v = constant(args, i, what);
        if (!(v instanceof ArrayData a)) {
            throw new KilnException("argument " + (i + 1) + " must be " + what + ", e.g. array('origin_delay_stats:avg_delay_7d')"
                    + " (got " + args.get(i).sql() + ")");
        }
        List<String> out = new ArrayList<>();
        for (int k = 0; k < a.numElements(); k++) {
            out.add(a.isNullAt(k) ? null : a.getUTF8String(k).toString());
        }
        return out;
    }
}
