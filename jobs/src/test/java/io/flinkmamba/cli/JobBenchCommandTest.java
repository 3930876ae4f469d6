package io.flinkmamba.cli;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JobBenchCommandTest {
    private static final Pattern LAST_LINE = Pattern.compile("bench-job job=anomaly keys=20 events=2000 engine=cpu"
            + " real_eps=(\\d+) anchor_eps=(\\d+) real_p50_ms=(\\d+) real_p99_ms=(\\d+) ratio=(\\S+)");

    @Test
    void smallRunGivesEveryEventExactlyOneResultInBothJobs() {
        CliRun run = CliRun.of("bench", "job", "--events", "2000", "--keys", "20", "--d-model", "8", "--d-state", "4",
                "--parallelism", "1", "--checkpoint-interval", "1s", "--latency-seconds", "3", "--rate", "300",
                "--warmup-events", "0");
        assertEquals(0, run.exit(), run.out() + run.err());
        Matcher last = LAST_LINE.matcher(run.lastLine());
        assertTrue(last.matches(), run.lastLine());
        double ratio = Double.parseDouble(last.group(5));
        assertTrue(ratio > 0 && Double.isFinite(ratio), run.lastLine());
        assertTrue(Long.parseLong(last.group(4)) >= Long.parseLong(last.group(3)), run.lastLine());
        // Every run's row: all results there, no duplicate, nothing missing or foreign, no other records.
        for (String phase : new String[] {"throughput real", "throughput anchor", "latency    real", "latency    anchor"}) {
            Matcher row = Pattern.compile("(?m)^" + phase + "\\s+(\\d+)\\s+\\S+\\s+\\S+\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s")
                    .matcher(run.out());
            assertTrue(row.find(), phase + " in\n" + run.out());
            long events = Long.parseLong(row.group(1));
            assertEquals(phase.startsWith("throughput") ? 2000 : events, events, row.group());
            assertTrue(events > 0, row.group());
            assertEquals(events, Long.parseLong(row.group(2)), row.group());
            assertEquals("0", row.group(3), row.group());
            assertEquals("0", row.group(4), row.group());
            assertEquals("0", row.group(5), row.group());
        }
    }

    @Test
    void resultsCheckFindsDuplicatesMissingAndForeignResults() throws Exception {
        JobBenchResults results = new JobBenchResults();
        Map<String, Long> sent = Map.of("0/0", 1_000L, "0/1", 1_010L, "1/0", 1_020L);
        results.add(result("k1", 5, 0, 0), 1_100);
        results.add(result("k1", 5, 0, 0), 1_200); // the same event's result again
        results.add(result("k2", 6, 0, 1), 1_150);
        results.add(result("k9", 9, 1, 0), 1_300); // not an input event
        results.add("{\"type\":\"session_end\",\"key\":\"k1\",\"timestamp\":99}", 1_300);
        JobBenchResults.Check check = results.check(Set.of("k1@5", "k2@6", "k3@7"));
        assertEquals(4, check.results());
        assertEquals(1, check.duplicates());
        assertEquals(1, check.missing());
        assertEquals(1, check.unexpected());
        assertEquals(1, check.otherRecords());
        assertFalse(check.ok());

        JobBenchResults clean = new JobBenchResults();
        clean.add(result("k1", 5, 0, 0), 1_100);
        clean.add(result("k2", 6, 0, 1), 1_150);
        assertTrue(clean.check(Set.of("k1@5", "k2@6")).ok());
        // No event was sent after the first result was visible (1100): the latency is over all of them.
        JobBenchResults.Latency latency = results.latencies((partition, offset) -> sent.get(partition + "/" + offset),
                Long.MAX_VALUE);
        assertEquals(4, latency.total());
        assertEquals(4, latency.measured());
        assertEquals(140, latency.p50Millis());
        assertEquals(280, latency.maxMillis());
    }

    @Test
    void latencyIsOverTheSteadyWindowOnly() throws Exception {
        JobBenchResults results = new JobBenchResults();
        Map<String, Long> sent = Map.of("0/0", 1_000L, "0/1", 1_150L, "0/2", 1_400L);
        results.add(result("k1", 1, 0, 0), 1_100); // sent before the first result was visible
        results.add(result("k1", 2, 0, 1), 1_300); // in the window: 150 ms
        results.add(result("k1", 3, 0, 2), 1_500); // sent after the window's end (1300)
        JobBenchResults.Latency latency = results.latencies((partition, offset) -> sent.get(partition + "/" + offset), 1_300);
        assertEquals(3, latency.total());
        assertEquals(1, latency.measured());
        assertEquals(150, latency.p50Millis());
        assertEquals(150, latency.p99Millis());
    }

    @Test
    void badOptionsExitWithTwo() {
        assertEquals(2, CliRun.of("bench", "job", "--keys", "0").exit());
        assertEquals(2, CliRun.of("bench", "job", "--engine", "tpu").exit());
        CliRun interval = CliRun.of("bench", "job", "--checkpoint-interval", "often");
        assertEquals(2, interval.exit());
        assertTrue(interval.err().contains("--checkpoint-interval"), interval.err());
    }

    private static String result(String key, long timestamp, int partition, long offset) {
        return "{\"key\":\"" + key + "\",\"timestamp\":" + timestamp + ",\"topic\":\"in\",\"partition\":" + partition
                + ",\"offset\":" + offset + ",\"score\":1.5}";
    }
}
