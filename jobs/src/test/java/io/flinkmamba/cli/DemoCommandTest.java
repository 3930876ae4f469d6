package io.flinkmamba.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A small streaming demo, end to end: broker, training, job, results, report, summary line. */
class DemoCommandTest {

    @Test
    void aSmallDemoDetectsItsAnomaliesAndWritesTheReport(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("report.html");
        CliRun run = CliRun.of("demo", "--events", "3600", "--keys", "2", "--epochs", "4", "--report", report.toString());
        assertEquals(0, run.exit(), run.out() + run.err());
        Matcher last = Pattern.compile("demo events=3600 keys=2 precision=(\\S+) recall=(\\S+) eps=(\\d+)").matcher(run.lastLine());
        assertTrue(last.matches(), run.lastLine());
        double precision = Double.parseDouble(last.group(1));
        double recall = Double.parseDouble(last.group(2));
        assertTrue(precision >= 0 && precision <= 1 && recall > 0 && recall <= 1, run.lastLine());
        assertTrue(Integer.parseInt(last.group(3)) > 0);
        assertTrue(run.out().contains("dead letters {missing_field=1, not_finite=1, unparseable=1}"), run.out());
        assertTrue(run.out().contains("sessions: 10,630 events of 300 users, 1200 session ends"), run.out());
        Matcher sessions = Pattern.compile("top-1 accuracy (\\S+) \\(the chain's best (\\S+)\\)").matcher(run.out());
        assertTrue(sessions.find(), run.out());
        assertTrue(Double.parseDouble(sessions.group(1)) > 0.8 * Double.parseDouble(sessions.group(2)), sessions.group());
        String html = Files.readString(report);
        assertEquals(2 * 4, html.split("<svg", -1).length - 1, "four plots per key: cpu, load, score, likelihood");
        assertTrue(html.contains("host-00") && html.contains("host-01"));
    }
}
