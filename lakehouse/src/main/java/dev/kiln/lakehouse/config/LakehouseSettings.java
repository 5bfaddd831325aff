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

    /**
     * The catalog types, each with what its config must hold; the session side of each type is
     * {@code catalog.CatalogBackend} (whose exhaustive switch names the place a new type needs there).
     */
    public enum CatalogType {
        EMBEDDED, POSTGRES, HIVE;

        /** The type named by {@code kiln.lakehouse.catalog.type}. */
        public static CatalogType parse(String text) {
            for (CatalogType t : values()) {
                if (t.text().equalsIgnoreCase(text)) {
                    return t;
                }
            }
            java.util.List<String> known = java.util.Arrays.stream(values()).map(t -> "'" + t.text() + "'").toList();
            throw new ConfigException("kiln.lakehouse.catalog.type", "expected "
                    + String.join(", ", known.subList(0, known.size() - 1)) + " or " + known.get(known.size() - 1)
                    + ", got '" + text.toLowerCase(java.util.Locale.ROOT) + "'");
        }

        public String text() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        /** Refuses a catalog config that lacks what this type needs to reach its metastore. */
        void check(Optional<String> metastoreUri, Optional<String> jdbcUrl, Optional<Path> credentialsFile) {
            switch (this) {
                case EMBEDDED -> { }
                case HIVE -> {
                    if (metastoreUri.isEmpty()) {
                        throw new ConfigException("kiln.lakehouse.catalog.metastore-uri",
                                "required when kiln.lakehouse.catalog.type = hive (e.g. thrift://metastore:9083)");
                    }
                }
                case POSTGRES -> {
                    if (jdbcUrl.isEmpty() && credentialsFile.isEmpty()) {
                        throw new ConfigException("kiln.lakehouse.catalog.jdbc-url", "required when kiln.lakehouse.catalog.type"
                                + " = postgres (e.g. jdbc:postgresql://localhost:5432/kiln), unless the credentials-file has a url= line");
                    }
                    jdbcUrl.filter(u -> !u.startsWith("jdbc:postgresql:")).ifPresent(u -> {
                        throw new ConfigException("kiln.lakehouse.catalog.jdbc-url", "expected a jdbc:postgresql:// URL, got '" + u + "'");
                    });
                }
            }
        }
    }

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
