package dev.kiln.jobs;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.SQLException;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * A real JDBC client for {@code kiln sql-server}: the Hive JDBC driver of the Spark distribution
 * ({@code kiln.sparkHome}), loaded in a class loader of its own so that its Hive and Thrift classes never meet the
 * test's own Spark classpath.
 */
final class HiveJdbc implements AutoCloseable {
    private final URLClassLoader loader;
    private final Driver driver;

    HiveJdbc(Path sparkHome) throws Exception {
        List<URL> jars;
        try (Stream<Path> s = Files.list(sparkHome.resolve("jars"))) {
            jars = s.filter(p -> p.toString().endsWith(".jar")).sorted().map(p -> {
                try {
                    return p.toUri().toURL();
                } catch (java.net.MalformedURLException e) {
                    throw new IllegalStateException(e);
                }
            }).toList();
        }
        loader = new URLClassLoader(jars.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
        driver = (Driver) Class.forName("org.apache.hive.jdbc.HiveDriver", true, loader).getConstructor().newInstance();
    }

    Connection connect(String url, String user, String password) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        Thread t = Thread.currentThread();
        ClassLoader previous = t.getContextClassLoader();
        t.setContextClassLoader(loader);
        try {
            return driver.connect(url, p);
        } finally {
            t.setContextClassLoader(previous);
        }
    }

    @Override
    public void close() throws Exception {
        loader.close();
    }
}
