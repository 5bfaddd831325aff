package dev.kiln.lakehouse;

import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;

/**
 * How Kiln stores and compares event times: as Spark {@code TIMESTAMP} (an instant, shown in the session time
 * zone, which Kiln fixes to UTC), the type the RAPIDS Accelerator supports; {@code TIMESTAMP_NTZ} it does not.
 * A zone-less wall-clock time is read as UTC, which is exact both ways (every wall-clock time is one UTC instant
 * and back), so values, period boundaries and comparisons are the same as they were with {@code TIMESTAMP_NTZ}.
 */
public final class EventTime {
    /** The stored and compared type of event times and period boundaries. */
    public static final DataType TYPE = DataTypes.TimestampType;

    private EventTime() {}

    /** {@code column} (a timestamp with or without a zone, or a date) as an event time. */
    public static Column of(Column column) {
        return column.cast(TYPE);
    }

    /**
     * The UTC wall-clock time of a value Spark returned for a TIMESTAMP, TIMESTAMP_NTZ or DATE column
     * ({@link java.sql.Timestamp}, {@link Instant}, {@link LocalDateTime}, {@link java.sql.Date}, {@link LocalDate}),
     * independent of the JVM's default time zone; null for null.
     */
    public static LocalDateTime utcWallClock(Object value) {
        if (value == null) {
            return null;
        }
        if (value instanceof LocalDateTime t) {
            return t;
        }
        if (value instanceof java.sql.Timestamp t) {
            return LocalDateTime.ofInstant(t.toInstant(), ZoneOffset.UTC);
        }
        if (value instanceof Instant t) {
            return LocalDateTime.ofInstant(t, ZoneOffset.UTC);
        }
        if (value instanceof java.sql.Date d) {
            return d.toLocalDate().atStartOfDay();
        }
        if (value instanceof LocalDate d) {
            return d.atStartOfDay();
        }
        throw new IllegalArgumentException("not a time value: " + value.getClass().getName());
    }

    /**
     * The instant of a TIMESTAMP value as Spark returned it: {@link java.sql.Timestamp}, or {@link Instant} in sessions
     * with {@code spark.sql.datetime.java8API.enabled} (the SQL server, spark-sql); null for null.
     */
    public static Instant instant(Object value) {
        LocalDateTime t = utcWallClock(value);
        return t == null ? null : t.toInstant(ZoneOffset.UTC);
    }

    /** The instant at UTC wall-clock time {@code t}, as the value of a TIMESTAMP literal or row field. */
    public static java.sql.Timestamp utcTimestamp(LocalDateTime t) {
        return t == null ? null : java.sql.Timestamp.from(t.toInstant(ZoneOffset.UTC));
    }
}
