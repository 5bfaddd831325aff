package dev.kiln.lakehouse.config;

import static java.util.Objects.requireNonNull;

import java.util.Map;
import java.util.Optional;

/**
 * Where the lakehouse lives and how its catalog is reached, plus the Spark settings Kiln starts
 * sessions with. Parsed from {@code kiln.lakehouse} and {@code kiln.spark}.
 *
 * @param root         URI of the lakehouse root (file:, hdfs:, s3a:); tables live under it
 * @param catalog      {@code embedded} (Derby metastore under the root) or {@code hive} (external)
 * @param metastoreUri thrift URI of the external Hive metastore when {@code catalog = hive}
 * @param sparkMaster  master used when none was given by spark-submit
 * @param appName      Spark application name
 * @param sparkConf    Spark settings passed through to the session (lowest precedence first)
 */
public record LakehouseSettings(
        String root,
        CatalogType catalog,
        Optional<String> metastoreUri,
        String sparkMaster,
        String appName,
        Map<String, String> sparkConf) {

    public enum CatalogType { EMBEDDED, HIVE }

    public LakehouseSettings {
        requireNonNull(root, "root is null");
        requireNonNull(catalog, "catalog is null");
        requireNonNull(metastoreUri, "metastoreUri is null");
        requireNonNull(sparkMaster, "sparkMaster is null");
        requireNonNull(appName, "appName is null");
        sparkConf = Map.copyOf(sparkConf);
        if (root.endsWith("/")) {
            root = root.substring(0, root.length() - 1);
        }
    }

    public String warehouseDir() {
        return root + "/warehouse";
    }

    /** Directory of the embedded Derby metastore (a local path; embedded only). */
    public String metastoreDir() {
        return localPath(root) + "/_metastore";
    }

    public String tablesDir() {
        return root + "/tables";
    }

    static String localPath(String uri) {
        return uri.startsWith("file:") ? java.net.URI.create(uri).getPath() : uri;
    }
}
