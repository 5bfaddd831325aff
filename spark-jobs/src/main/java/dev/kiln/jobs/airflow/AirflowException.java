package dev.kiln.jobs.airflow;

import dev.kiln.lakehouse.KilnException;

/**
 * A request to Airflow's REST API that failed in a way the user can act on. The subclasses say which way,
 * so that callers can react to one (a duplicate run id, say) without reading messages.
 */
public class AirflowException extends KilnException {
    private static final long serialVersionUID = 1L;

    public AirflowException(String message) {
        super(message);
    }

    public AirflowException(String message, Throwable cause) {
        super(message, cause);
    }

    /** 401 or 403: the username or password is wrong, or the user may not do this. */
    public static final class Unauthorized extends AirflowException {
        private static final long serialVersionUID = 1L;

        public Unauthorized(String message) {
            super(message);
        }
    }

    /** 404: the DAG (or the DAG run) does not exist in Airflow. */
    public static final class NotFound extends AirflowException {
        private static final long serialVersionUID = 1L;

        public NotFound(String message) {
            super(message);
        }
    }

    /** 409: a DAG run with that run id exists already. */
    public static final class Conflict extends AirflowException {
        private static final long serialVersionUID = 1L;

        public Conflict(String message) {
            super(message);
        }
    }

    /** No connection to the api-server (after the bounded retries). */
    public static final class Unreachable extends AirflowException {
        private static final long serialVersionUID = 1L;

        public Unreachable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The api-server kept answering 5xx (after the bounded retries). */
    public static final class ServerError extends AirflowException {
        private static final long serialVersionUID = 1L;

        public ServerError(String message) {
            super(message);
        }
    }

    /** A DAG run did not reach a terminal state in time; it goes on in Airflow. */
    public static final class Timeout extends AirflowException {
        private static final long serialVersionUID = 1L;

        public Timeout(String message) {
            super(message);
        }
    }
}
