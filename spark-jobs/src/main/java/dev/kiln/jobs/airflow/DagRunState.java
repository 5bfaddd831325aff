package dev.kiln.jobs.airflow;

import java.util.Locale;

/** The state of a DAG run, as Airflow's REST API reports it. */
public enum DagRunState {
    QUEUED, RUNNING, SUCCESS, FAILED;

    /** Whether the run has ended: it will not change state again unless someone clears it. */
    public boolean terminal() {
        return this == SUCCESS || this == FAILED;
    }

    public String text() {
        return name().toLowerCase(Locale.ROOT);
    }

    static DagRunState parse(String text) {
        for (DagRunState s : values()) {
            if (s.text().equals(text)) {
                return s;
            }
        }
        throw new AirflowException("Airflow reported an unknown DAG run state '" + text + "' (known: queued, running, success, failed)");
    }
}
