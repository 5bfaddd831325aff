package dev.kiln.jobs.airflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.jobs.cli.ExitCodes;
import dev.kiln.jobs.cli.KilnCommand;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kiln airflow ...} against {@link FakeAirflow}: output, exit codes, no Spark. */
class AirflowCommandTest {
    private static final String CONF_DIR = Path.of("").toAbsolutePath().getParent().resolve("conf").toString();

    private FakeAirflow airflow;
    private Path credentials;

    private record Outcome(int code, String out, String err) {}

    @BeforeEach
    void start(@TempDir Path dir) throws IOException {
        airflow = new FakeAirflow();
        credentials = dir.resolve("airflow.properties");
        Files.writeString(credentials, "username=" + FakeAirflow.USER + "\npassword=" + FakeAirflow.PASSWORD + "\n");
    }

    @AfterEach
    void stop() {
        airflow.close();
    }

    private Outcome kiln(String... command) {
        List<String> args = new ArrayList<>(List.of("--conf-dir", CONF_DIR, "--conf", "kiln.airflow.url=" + airflow.url(),
                "--conf", "kiln.airflow.credentials-file=" + credentials));
        args.addAll(List.of(command));
        PrintStream out0 = System.out;
        PrintStream err0 = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int code = KilnCommand.run(args.toArray(String[]::new));
            return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out0);
            System.setErr(err0);
        }
    }

    @Test
    void triggerAndWaitForSuccess() {
        airflow.initialStates = List.of("success");
        Outcome o = kiln("airflow", "trigger", "kiln_retrain", "--conf", "model=flight_delay", "--conf", "reason=manual",
                "--run-id", "r1", "--wait", "--timeout", "30");
        assertEquals(ExitCodes.OK, o.code(), o.out() + o.err());
        assertTrue(o.out().contains("triggered kiln_retrain run r1 (queued)"), o.out());
        assertTrue(o.out().contains("[kiln] kiln_retrain r1: success"), o.out());
        assertTrue(o.out().matches("(?s).*ingest\\s+success\\s+try 1\\s+12\\.5s.*"), o.out());
        assertEquals("{\"model\":\"flight_delay\",\"reason\":\"manual\"}", airflow.triggered.get("kiln_retrain/r1").path("conf").toString());
    }

    @Test
    void aFailedRunExitsOneNamingTheRun() {
        airflow.initialStates = List.of("failed");
        Outcome o = kiln("airflow", "trigger", "kiln_flights_daily", "--logical-date", "2024-03-01", "--run-id", "d1", "--wait");
        assertEquals(ExitCodes.JOB_FAILED, o.code(), o.out() + o.err());
        assertTrue(o.err().contains("kiln: trigger failed: DAG run d1 of kiln_flights_daily ended failed"), o.err());
        assertEquals("2024-03-01T00:00:00Z", airflow.triggered.get("kiln_flights_daily/d1").path("logical_date").asText());
    }

    @Test
    void withoutWaitTheRunIsOnlyStarted() {
        airflow.initialStates = List.of("running");
        Outcome o = kiln("airflow", "trigger", "kiln_retrain");
        assertEquals(ExitCodes.OK, o.code(), o.out() + o.err());
        assertTrue(o.out().contains("triggered kiln_retrain run manual__"), o.out());
    }

    @Test
    void anUnknownDagAndADuplicateRunIdExitOne() {
        Outcome unknown = kiln("airflow", "trigger", "kiln_nope");
        assertEquals(ExitCodes.JOB_FAILED, unknown.code());
        assertTrue(unknown.err().contains("has no DAG 'kiln_nope'"), unknown.err());

        assertEquals(ExitCodes.OK, kiln("airflow", "trigger", "kiln_retrain", "--run-id", "dup").code());
        Outcome dup = kiln("airflow", "trigger", "kiln_retrain", "--run-id", "dup");
        assertEquals(ExitCodes.JOB_FAILED, dup.code());
        assertTrue(dup.err().contains("already has a run for DAG 'kiln_retrain' (run id 'dup')"), dup.err());
    }

    @Test
    void statusPrintsTheStateAndTheTaskInstances() {
        airflow.initialStates = List.of("running");
        kiln("airflow", "trigger", "kiln_flights_daily", "--run-id", "s1");
        Outcome o = kiln("airflow", "status", "kiln_flights_daily", "s1");
        assertEquals(ExitCodes.OK, o.code(), o.out() + o.err());
        assertTrue(o.out().contains("kiln_flights_daily s1: running, started 2024-03-02T10:00:01Z"), o.out());
        assertTrue(o.out().matches("(?s).*score\\s+none\\s+try 0.*"), o.out());
    }

    @Test
    void noPasswordOnTheCommandLineAndBadArgumentsAreUsageErrors() {
        assertEquals(ExitCodes.USAGE, kiln("airflow", "trigger", "kiln_retrain", "--password", "x").code());
        Outcome conf = kiln("airflow", "trigger", "kiln_retrain", "--conf", "model");
        assertEquals(ExitCodes.USAGE, conf.code());
        assertTrue(conf.err().contains("--conf 'model': expected KEY=VALUE"), conf.err());
        Outcome date = kiln("airflow", "trigger", "kiln_retrain", "--logical-date", "01/03/2024");
        assertEquals(ExitCodes.USAGE, date.code());
        assertTrue(date.err().contains("--logical-date '01/03/2024': expected yyyy-mm-dd"), date.err());
        assertTrue(airflow.triggered.isEmpty());
    }

    @Test
    void anUnreachableAirflowExitsOneWithTheUrl() {
        String url = airflow.url().toString();
        airflow.close();
        Outcome o = kiln("--conf", "kiln.airflow.max-attempts=1", "airflow", "status", "kiln_flights_daily", "s1");
        assertEquals(ExitCodes.JOB_FAILED, o.code(), o.out() + o.err());
        assertTrue(o.err().contains("cannot reach Airflow at " + url), o.err());
    }
}
