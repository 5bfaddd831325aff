package dev.kiln.reports.html;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;

/**
 * The report's charts as Vega-Lite specs (JSON, rendered in the page by vega-embed). Each spec carries its data
 * inline, so a report needs nothing but itself; each is checked against Vega-Lite's JSON schema in the tests.
 */
public final class Charts {
    /** The Vega-Lite version the specs are written for (the one {@code scripts/fetch-vega.sh} inlines). */
    public static final String SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

    static final ObjectMapper JSON = new ObjectMapper();
    private static final int WIDTH = 320;
    private static final int HEIGHT = 240;
    private static final String REFERENCE_COLOR = "#4c78a8";
    private static final String CURRENT_COLOR = "#f58518";

    private Charts() {}

    /** One chart: an id for its element, a title, and its spec. */
    public record Chart(String id, String title, ObjectNode spec) {}

    /** A point of a curve: x, y and the threshold that gives it. */
    public record XY(double x, double y, double threshold) {}

    /** ROC curve (false positive rate vs recall) with the chance diagonal and the decision threshold's point. */
    static ObjectNode roc(List<XY> curve, XY operating) {
        return curve("False positive rate", "True positive rate (recall)", curve, operating, true);
    }

    /** Precision-recall curve with the decision threshold's point. */
    static ObjectNode precisionRecall(List<XY> curve, XY operating) {
        return curve("Recall", "Precision", curve, operating, false);
    }

    private static ObjectNode curve(String xTitle, String yTitle, List<XY> curve, XY operating, boolean diagonal) {
        ObjectNode spec = base();
        ArrayNode layers = spec.putArray("layer");
        ObjectNode line = layers.addObject();
        line.set("data", values(curve.stream().map(p -> Map.<String, Object>of("x", p.x(), "y", p.y(), "threshold", p.threshold()))
                .toList()));
        line.set("mark", obj("type", "line", "interpolate", "linear", "point", false, "color", REFERENCE_COLOR));
        ObjectNode enc = line.putObject("encoding");
        enc.set("x", field("x", "quantitative", xTitle).put("sort", "ascending").set("scale", obj("domain", arr(0, 1))));
        enc.set("y", field("y", "quantitative", yTitle).set("scale", obj("domain", arr(0, 1))));
        enc.set("order", obj("field", "x", "type", "quantitative"));
        enc.set("tooltip", arr(field("threshold", "quantitative", "threshold").put("format", ".4f"),
                field("x", "quantitative", xTitle).put("format", ".4f"), field("y", "quantitative", yTitle).put("format", ".4f")));
        if (diagonal) {
            ObjectNode chance = layers.addObject();
            chance.set("data", values(List.of(Map.of("x", 0, "y", 0), Map.of("x", 1, "y", 1))));
            chance.set("mark", obj("type", "line", "strokeDash", arr(4, 4), "color", "#999999"));
            ObjectNode e = chance.putObject("encoding");
            e.set("x", field("x", "quantitative", xTitle));
            e.set("y", field("y", "quantitative", yTitle));
        }
        if (operating != null) {
            ObjectNode point = layers.addObject();
            point.set("data", values(List.of(Map.of("x", operating.x(), "y", operating.y(), "threshold", operating.threshold()))));
            point.set("mark", obj("type", "point", "filled", true, "size", 120, "color", CURRENT_COLOR));
            ObjectNode e = point.putObject("encoding");
            e.set("x", field("x", "quantitative", xTitle));
            e.set("y", field("y", "quantitative", yTitle));
            e.set("tooltip", arr(field("threshold", "quantitative", "decision threshold").put("format", ".4f"),
                    field("x", "quantitative", xTitle).put("format", ".4f"), field("y", "quantitative", yTitle).put("format", ".4f")));
        }
        return spec;
    }

    /** One calibration bin: its score range, mean predicted probability, observed positive rate and events. */
    public record CalibrationBin(String bin, double predicted, double observed, long events) {}

    /** Calibration: each bin's observed positive rate against its mean predicted probability, and the diagonal. */
    static ObjectNode calibration(List<CalibrationBin> bins) {
        ObjectNode spec = base();
        ArrayNode layers = spec.putArray("layer");
        ObjectNode ideal = layers.addObject();
        ideal.set("data", values(List.of(Map.of("predicted", 0, "observed", 0), Map.of("predicted", 1, "observed", 1))));
        ideal.set("mark", obj("type", "line", "strokeDash", arr(4, 4), "color", "#999999"));
        ObjectNode e = ideal.putObject("encoding");
        e.set("x", field("predicted", "quantitative", "Mean predicted probability").set("scale", obj("domain", arr(0, 1))));
        e.set("y", field("observed", "quantitative", "Observed positive rate").set("scale", obj("domain", arr(0, 1))));
        ObjectNode points = layers.addObject();
        points.set("data", values(bins.stream().map(b -> Map.<String, Object>of("bin", b.bin(), "predicted", b.predicted(),
                "observed", b.observed(), "events", b.events())).toList()));
        points.set("mark", obj("type", "line", "point", true, "color", REFERENCE_COLOR));
        ObjectNode p = points.putObject("encoding");
        p.set("x", field("predicted", "quantitative", "Mean predicted probability"));
        p.set("y", field("observed", "quantitative", "Observed positive rate"));
        p.set("tooltip", arr(field("bin", "nominal", "score bin"), field("predicted", "quantitative", "predicted").put("format", ".4f"),
                field("observed", "quantitative", "observed").put("format", ".4f"), field("events", "quantitative", "events")));
        return spec;
    }

    /** A bar per slice of one metric. */
    static ObjectNode sliceBars(Map<String, Double> bySlice, String metric) {
        ObjectNode spec = base();
        spec.set("data", values(bySlice.entrySet().stream().filter(x -> x.getValue() != null)
                .map(x -> Map.<String, Object>of("slice", x.getKey(), "value", x.getValue())).toList()));
        spec.put("mark", "bar");
        ObjectNode e = spec.putObject("encoding");
        e.set("y", field("slice", "nominal", "Slice").put("sort", "-x"));
        e.set("x", field("value", "quantitative", metric));
        e.set("tooltip", arr(field("slice", "nominal", "slice"), field("value", "quantitative", metric).put("format", ".4f")));
        return spec;
    }

    /** One metric estimated before the outcomes (with its 95% band) and, where measured, realized. */
    public record Estimate(String metric, double estimate, Double lower, Double upper, Double realized) {}

    /** Estimated performance: each metric's band and estimate, and the realized value beside it. */
    static ObjectNode estimates(List<Estimate> rows) {
        ObjectNode spec = base();
        ArrayNode layers = spec.putArray("layer");
        ObjectNode band = layers.addObject();
        band.set("data", values(rows.stream().filter(r -> r.lower() != null).map(r -> Map.<String, Object>of("metric", r.metric(),
                "lower", r.lower(), "upper", r.upper())).toList()));
        band.set("mark", obj("type", "rule", "strokeWidth", 3, "color", REFERENCE_COLOR));
        ObjectNode b = band.putObject("encoding");
        b.set("y", field("metric", "nominal", "Metric"));
        b.set("x", field("lower", "quantitative", "Value").set("scale", obj("zero", false)));
        b.set("x2", obj("field", "upper"));
        ObjectNode points = layers.addObject();
        ArrayNode data = JSON.createArrayNode();
        for (Estimate r : rows) {
            data.add(obj("metric", r.metric(), "kind", "estimated", "value", r.estimate()));
            if (r.realized() != null) {
                data.add(obj("metric", r.metric(), "kind", "realized", "value", r.realized()));
            }
        }
        points.set("data", obj("values", data));
        points.set("mark", obj("type", "point", "filled", true, "size", 90));
        ObjectNode p = points.putObject("encoding");
        p.set("y", field("metric", "nominal", "Metric"));
        p.set("x", field("value", "quantitative", "Value"));
        p.set("color", field("kind", "nominal", "").set("scale", obj("domain", arr("estimated", "realized"),
                "range", arr(REFERENCE_COLOR, CURRENT_COLOR))));
        p.set("shape", field("kind", "nominal", ""));
        p.set("tooltip", arr(field("metric", "nominal", "metric"), field("kind", "nominal", "kind"),
                field("value", "quantitative", "value").put("format", ".4f")));
        return spec;
    }

    /** One histogram bin of one window; {@code share} is the bin's count over the window's non-null values. */
    public record Bin(String window, double lower, double upper, long count, double share) {}

    /**
     * Reference and current histograms on shared edges, overlaid; the end bins also hold the values beyond the
     * edges (mean +- 4 standard deviations, see {@code reports.data_profile_bins}).
     */
    static ObjectNode histogram(String column, List<Bin> bins) {
        ObjectNode spec = base();
        spec.set("data", values(bins.stream().map(b -> Map.<String, Object>of("window", b.window(), "lower", b.lower(),
                "upper", b.upper(), "count", b.count(), "share", b.share())).toList()));
        // Rectangles from each bin's lower to upper edge and from 0 to its share; the two windows overlaid.
        spec.set("mark", obj("type", "rect", "opacity", 0.55, "stroke", "white", "strokeWidth", 0.5));
        ObjectNode e = spec.putObject("encoding");
        e.set("x", field("lower", "quantitative", column).set("scale", obj("zero", false)));
        e.set("x2", obj("field", "upper"));
        e.set("y", field("share", "quantitative", "Share of the window's values"));
        e.set("y2", obj("datum", 0));
        e.set("color", windowColor());
        e.set("tooltip", arr(field("window", "nominal", "window"), field("lower", "quantitative", "from").put("format", ".4~g"),
                field("upper", "quantitative", "to").put("format", ".4~g"), field("count", "quantitative", "count"),
                field("share", "quantitative", "share").put("format", ".2%")));
        return spec;
    }

    /** One category's count and share in one window. */
    public record Category(String window, String category, long count, double share) {}

    /** A categorical input's top values in both windows, side by side. */
    static ObjectNode topValues(String column, List<Category> rows) {
        ObjectNode spec = base();
        spec.set("data", values(rows.stream().map(c -> Map.<String, Object>of("window", c.window(), "category", c.category(),
                "count", c.count(), "share", c.share())).toList()));
        spec.put("mark", "bar");
        ObjectNode e = spec.putObject("encoding");
        e.set("x", field("category", "nominal", column).put("sort", "-y"));
        e.set("xOffset", obj("field", "window", "sort", arr("reference", "current")));
        e.set("y", field("share", "quantitative", "Share of the window's rows"));
        e.set("color", windowColor());
        e.set("tooltip", arr(field("window", "nominal", "window"), field("category", "nominal", "value"),
                field("count", "quantitative", "count"), field("share", "quantitative", "share").put("format", ".2%")));
        return spec;
    }

    private static ObjectNode windowColor() {
        return field("window", "nominal", "Window").set("scale", obj("domain", arr("reference", "current"),
                "range", arr(REFERENCE_COLOR, CURRENT_COLOR)));
    }

    private static ObjectNode base() {
        ObjectNode spec = JSON.createObjectNode();
        spec.put("$schema", SCHEMA);
        spec.put("width", WIDTH);
        spec.put("height", HEIGHT);
        return spec;
    }

    private static ObjectNode field(String name, String type, String title) {
        return obj("field", name, "type", type, "title", title);
    }

    private static ObjectNode values(List<Map<String, Object>> rows) {
        ArrayNode values = JSON.createArrayNode();
        for (Map<String, Object> r : rows) {
            values.add(JSON.valueToTree(new java.util.TreeMap<>(r)));
        }
        return obj("values", values);
    }

    /** An object from alternating keys and values (a {@link JsonNode} value is kept as is). */
    static ObjectNode obj(Object... kv) {
        ObjectNode o = JSON.createObjectNode();
        for (int i = 0; i < kv.length; i += 2) {
            o.set((String) kv[i], kv[i + 1] instanceof JsonNode j ? j : JSON.valueToTree(kv[i + 1]));
        }
        return o;
    }

    static ArrayNode arr(Object... items) {
        ArrayNode a = JSON.createArrayNode();
        for (Object x : items) {
            a.add(x instanceof JsonNode j ? j : JSON.valueToTree(x));
        }
        return a;
    }
}
