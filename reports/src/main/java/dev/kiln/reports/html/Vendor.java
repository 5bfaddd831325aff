package dev.kiln.reports.html;

import dev.kiln.lakehouse.KilnException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The chart libraries a report inlines (vega, vega-lite, vega-embed, minified, from their npm packages), read from
 * the jar, where the reports module's build puts them ({@code scripts/fetch-vega.sh}).
 */
record Vendor(List<String> scripts, String versions) {
    static final String VERSIONS = "vega 6.4.0, vega-lite 6.5.0, vega-embed 7.3.0";
    private static final List<String> FILES = List.of("vega.min.js", "vega-lite.min.js", "vega-embed.min.js");

    static Vendor load() {
        List<String> scripts = new ArrayList<>();
        for (String f : FILES) {
            try (InputStream in = Vendor.class.getResourceAsStream("vendor/" + f)) {
                if (in == null) {
                    throw new KilnException("the chart library " + f + " is not in Kiln's jar: the reports module was built"
                            + " without scripts/fetch-vega.sh (it needs npm); rebuild with mvn package");
                }
                String js = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                if (js.toLowerCase(java.util.Locale.ROOT).contains("</script")) {
                    throw new KilnException(f + " cannot be inlined in a script element (it contains '</script')");
                }
                scripts.add(js);
            } catch (IOException e) {
                throw new KilnException("cannot read the chart library " + f + " from Kiln's jar: " + e.getMessage(), e);
            }
        }
        return new Vendor(List.copyOf(scripts), VERSIONS);
    }
}
