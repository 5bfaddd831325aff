package dev.kiln.api;

/** Counts of rows a job moved, for its row in {@code ops.job_runs}; null where a job does not move rows. */
record JobRows(Long in, Long out, Long quarantined) {
    static final JobRows NONE = new JobRows(null, null, null);

    static JobRows out(long rows) {
        return new JobRows(null, rows, null);
    }
}
