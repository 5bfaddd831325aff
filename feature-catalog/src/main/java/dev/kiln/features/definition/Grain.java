package dev.kiln.features.definition;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.datediff;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.hour;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.timestamp_seconds;
import static org.apache.spark.sql.functions.to_date;

import dev.kiln.lakehouse.EventTime;
import java.time.Duration;
import java.time.LocalDateTime;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.types.DataTypes;

/**
 * The period a feature set is computed for: values hold as of the end of each hour or day. Owns the period
 * arithmetic that the materializer and the point-in-time join share: periods are numbered from 1970-01-01
 * 00:00 (index 0) in the session time zone's wall clock, one grain apart.
 */
public enum Grain {
    HOUR(1), DAY(24);

    private static final LocalDateTime EPOCH = LocalDateTime.of(1970, 1, 1, 0, 0);

    private final int hours;

    Grain(int hours) {
        this.hours = hours;
    }

    public int hours() {
        return hours;
    }

    /** The index of the period holding timestamp {@code ts} (a long column). */
    public Column index(Column ts) {
        Column day = datediff(to_date(ts), lit(java.sql.Date.valueOf("1970-01-01"))).cast(DataTypes.LongType);
        if (this == DAY) {
            return day;
        }
        return day.multiply(24).plus(hour(ts)).divide(hours).cast(DataTypes.LongType);
    }

    /**
     * The start of the period whose index is in column {@code indexColumn}, as a TIMESTAMP ({@link EventTime}):
     * index times the grain in seconds from the epoch, an integer the RAPIDS Accelerator converts without a date.
     */
    public Column start(String indexColumn) {
        return timestamp_seconds(col(indexColumn).multiply(3600L * hours));
    }

    /** {@code start} plus one grain: the end of the period starting there. */
    public Column end(Column start) {
        return start.plus(expr("make_dt_interval(0, " + hours + ", 0, 0)"));
    }

    /** The last moment a period ending at {@code end} is fresh enough for an event under {@code ttl}. */
    public static Column freshUntil(Column end, Span ttl) {
        return end.plus(expr("make_dt_interval(0, " + ttl.hours() + ", 0, 0)"));
    }

    public LocalDateTime start(long index) {
        return EPOCH.plusHours(index * hours);
    }

    /** The index of the period that starts at (or holds) {@code time}. */
    public long index(LocalDateTime time) {
        return Math.floorDiv(Duration.between(EPOCH, time).toHours(), hours);
    }
}
