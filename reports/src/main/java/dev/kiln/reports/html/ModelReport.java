package dev.kiln.reports.html;

import static java.util.Objects.requireNonNull;

import dev.kiln.features.definition.FeatureSets;
import dev.kiln.lakehouse.KilnException;
import dev.kiln.lakehouse.catalog.Lakehouse;
import dev.kiln.lakehouse.catalog.TableName;
import dev.kiln.lakehouse.commit.Predicate;
import dev.kiln.reports.evaluation.Evaluator;
import dev.kiln.training.registry.ModelRegistry;
import dev.kiln.training.registry.ModelUri;
import dev.kiln.training.registry.ModelVersion;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Date;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * {@code kiln report}: one self-contained HTML file for a model version and a window, built from Kiln's tables
 * alone (see {@link ReportData}), written to {@code <root>/reports/html/<model>/<version>/<from>_<to>.html} (replacing
 * an earlier one of the same version and window) and listed in {@code reports.html_reports}.
 */
public final class ModelReport {
    public static final TableName TABLE = TableName.of("reports", "html_reports");

    static final StructType SCHEMA = new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("model_name", DataTypes.StringType, false)
            .add("model_version", DataTypes.IntegerType, false)
            .add("window_from", DataTypes.DateType, false)
            .add("window_to", DataTypes.DateType, false)
            .add("path", DataTypes.StringType, false)
            .add("bytes", DataTypes.LongType, false)
            .add("charts", DataTypes.IntegerType, false)
            .add("created_at", DataTypes.TimestampType, false);

    /** A written report: where, how large, and its charts (id and title). */
    public record Written(ModelVersion model, LocalDate from, LocalDate to, String path, long bytes, List<String> charts) {
        public String summary() {
            return String.format("report of %s, %s .. %s: %s (%,d bytes, %d charts)", model.uri(), from, to, path, bytes, charts.size());
        }
    }

    private final Lakehouse lakehouse;
    private final FeatureSets sets;
    private final Consumer<String> progress;

    public ModelReport(Lakehouse lakehouse, FeatureSets sets, Consumer<String> progress) {
        this.lakehouse = requireNonNull(lakehouse, "lakehouse is null");
        this.sets = requireNonNull(sets, "sets is null");
        this.progress = requireNonNull(progress, "progress is null");
    }

    /** Where the report of a version and window lands. */
    public static String path(String root, String model, int version, LocalDate from, LocalDate to) {
        return root + "/reports/html/" + model + "/" + version + "/" + from + "_" + to + ".html";
    }

    public Written write(ModelUri uri, LocalDate from, LocalDate to, String runId) {
        if (to.isBefore(from)) {
            throw new KilnException("the report's window is empty: --to " + to + " is before --from " + from);
        }
        long start = System.nanoTime();
        ModelVersion m = new ModelRegistry(lakehouse).resolve(uri);
        Vendor vendor = Vendor.load();
        ReportData data = ReportData.read(lakehouse, sets, m, from, to);
        progress.accept(String.format("report %s %s .. %s: %d evaluation rows, %d drift metrics, %d alerts read in %.1f s", m.uri(),
                from, to, data.evaluation().size(), data.drift().size(), data.alerts().size(), (System.nanoTime() - start) / 1e9));
        Instant now = Instant.now();
        ReportPage.Page page = ReportPage.render(data, vendor, now);
        byte[] bytes = page.html().getBytes(StandardCharsets.UTF_8);
        String path = path(lakehouse.settings().root(), m.name(), m.version(), from, to);
        writeFile(path, bytes);
        lakehouse.createIfMissing(TABLE, SCHEMA, List.of(), "HTML reports written by kiln report: one per model version and window",
                Map.of());
        Row row = RowFactory.create(runId, m.name(), m.version(), Date.valueOf(from), Date.valueOf(to), path, (long) bytes.length,
                page.charts().size(), Timestamp.from(now));
        lakehouse.commits().replace(TABLE, lakehouse.spark().createDataFrame(List.of(row), SCHEMA),
                Evaluator.window(m, from, to)).commit();
        return new Written(m, from, to, path, bytes.length, page.charts().stream().map(c -> c.id() + ": " + c.title()).toList());
    }

    /** The page of a version and window without writing it (for tests and previews). */
    public String render(ModelUri uri, LocalDate from, LocalDate to) {
        ModelVersion m = new ModelRegistry(lakehouse).resolve(uri);
        return ReportPage.render(ReportData.read(lakehouse, sets, m, from, to), Vendor.load(), Instant.now()).html();
    }

    /** The Vega-Lite specs a version's report embeds, by chart id (for the schema test). */
    public Map<String, String> specs(ModelUri uri, LocalDate from, LocalDate to) {
        ModelVersion m = new ModelRegistry(lakehouse).resolve(uri);
        Map<String, String> out = new java.util.LinkedHashMap<>();
        for (Charts.Chart c : ReportPage.render(ReportData.read(lakehouse, sets, m, from, to), new Vendor(List.of(), ""), Instant.now())
                .charts()) {
            out.put(c.id(), c.spec().toString());
        }
        return out;
    }

    private void writeFile(String path, byte[] bytes) {
        Path p = new Path(path);
        try {
            FileSystem fs = p.getFileSystem(lakehouse.spark().sparkContext().hadoopConfiguration());
            fs.setWriteChecksum(false); // no .crc file beside the report on local disk
            Path tmp = new Path(p.getParent(), "." + p.getName() + ".tmp");
            try (OutputStream out = fs.create(tmp, true)) {
                out.write(bytes);
            }
            // Written beside, then renamed into place: a reader never sees half a report.
            if (fs.exists(p) && !fs.delete(p, false)) {
                throw new IOException("cannot replace " + p);
            }
            if (!fs.rename(tmp, p)) {
                throw new IOException("cannot rename " + tmp + " to " + p);
            }
        } catch (IOException e) {
            throw new KilnException("cannot write the report to " + path + ": " + e.getMessage(), e);
        }
    }
}
