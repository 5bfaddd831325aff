package dev.kiln.lakehouse.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * Where the lakehouse lives and how its catalog is reached, plus the Spark settings Kiln starts
 * sessions with. Parsed from {@code kiln.lakehouse} and {@code kiln.spark}.
 *
 * @param root         URI of the lakehouse root (file:, hdfs:, s3a:); tables live under it
 * @param catalog      {@code embedded} (Derby metastore under the root, one process at a time), {@code postgres}
 *                     (Spark's Hive client on a metastore database in PostgreSQL, shared) or {@code hive} (an
 *                     external Thrift Hive metastore service, shared)
 * @param metastoreUri thrift URI of the external Hive metastore when {@code catalog = hive}
 * @param sparkMaster  master used when none was given by spark-submit
 * @param appName      Spark application name
 * @param sparkConf    Spark settings passed through to the session (lowest precedence first)
 * @param jdbcUrl      JDBC URL of the metastore database when {@code catalog = postgres} (else the credentials
 *                     file's {@code url=})
 * @param credentialsFile properties file with the metastore database's {@code user=}/{@code password=}
 *                     ({@code catalog = postgres}; the environment's KILN_METASTORE_USER/PASSWORD win)
 * @param commitPolicy how commits that lose to concurrent ones are retried ({@code kiln.commit})
 */
public record LakehouseSettings(
        String root,
        CatalogType catalog,
        Optional<String> metastoreUri,
        String sparkMaster,
        String appName,
        Map<String, String> sparkConf,
        Optional<String> jdbcUrl,
        Optional<Path> credentialsFile,
        dev.kiln.lakehouse.commit.CommitPolicy commitPolicy) {

    public enum CatalogType { EMBEDDED, POSTGRES, HIVE }

    /** Settings without a metastore database (embedded or hive catalogs). */
    public LakehouseSettings(String root, CatalogType catalog, Optional<String> metastoreUri, String sparkMaster,
            String appName, Map<String, String> sparkConf) {
        this(root, catalog, metastoreUri, sparkMaster, appName, sparkConf, Optional.empty(), Optional.empty(),
                dev.kiln.lakehouse.commit.CommitPolicy.DEFAULT);
    }

    /** Settings with the default commit policy. */
    public LakehouseSettings(String root, CatalogType catalog, Optional<String> metastoreUri, String sparkMaster,
            String appName, Map<String, String> sparkConf, Optional<String> jdbcUrl, Optional<Path> credentialsFile) {
        this(root, catalog, metastoreUri, sparkMaster, appName, sparkConf, jdbcUrl, credentialsFile,
                dev.kiln.lakehouse.commit.CommitPolicy.DEFAULT);
    }

    public LakehouseSettings {
        requireNonNull(root, "root is null");
        requireNonNull(catalog, "catalog is null");
        requireNonNull(metastoreUri, "metastoreUri is null");
        requireNonNull(sparkMaster, "sparkMaster is null");
        requireNonNull(appName, "appName is null");
        sparkConf = Map.copyOf(sparkConf);
        requireNonNull(jdbcUrl, "jdbcUrl is null");
        requireNonNull(credentialsFile, "credentialsFile is null");
        requireNonNull(commitPolicy, "commitPolicy is null");
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
