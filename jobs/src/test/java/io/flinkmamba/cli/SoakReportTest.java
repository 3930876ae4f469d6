package io.flinkmamba.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The soak run's CSV and plots (the soak itself runs outside the test suite). */
class SoakReportTest {
    static final String[] HEADER = {"seconds", "events_in", "results", "results_per_s", "latency_p50_ms", "latency_p99_ms",
            "latency_max_ms", "jobmanager_rss_mib", "taskmanagers_rss_mib", "rocksdb_mib", "checkpoints_mib",
            "taskmanagers_alive", "kills"};

    @Test
    void writesEverySampleAndOnePlotPerMetricGroup(@TempDir Path dir) throws Exception {
        List<double[]> rows = List.of(
                new double[] {5, 1000, 0, 0, Double.NaN, Double.NaN, Double.NaN, 300, 800, 0.1, 0, 2, 0},
                new double[] {10, 2000, 1500, 300, 2500.5, 4000, 4100, 310, 820, 1.5, 1.2, 2, 0},
                new double[] {15, 3000, 2900, 280, 2400, 3900, 4200, 312, 600, 2.5, 1.4, 2, 1});
        SoakReport.write(dir.resolve("soak.csv"), dir.resolve("soak.html"), HEADER, rows, "a <test> run");

        List<String> csv = Files.readAllLines(dir.resolve("soak.csv"));
        assertEquals(String.join(",", HEADER), csv.get(0));
        assertEquals(4, csv.size());
        assertEquals("5,1000,0,0,,,,300,800,0.100,0,2,0", csv.get(1), "no latency before the first result: empty cells");
        assertEquals("10,2000,1500,300,2500.500,4000,4100,310,820,1.500,1.200,2,0", csv.get(2));

        String html = Files.readString(dir.resolve("soak.html"));
        assertEquals(4, html.split("<svg").length - 1, "throughput, latency, memory, state on disk");
        assertTrue(html.contains("a &lt;test&gt; run"));
        assertTrue(html.contains("latency_p99_ms") && html.contains("taskmanagers_rss_mib") && html.contains("rocksdb_mib"));
        // The latency line skips the sample without latencies: two points.
        String latency = html.substring(html.indexOf("Latency"));
        String points = latency.substring(latency.indexOf("points=\"") + 8);
        assertEquals(2, points.substring(0, points.indexOf('"')).split(" ").length);
    }

    @Test
    void percentiles() {
        double[] sorted = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        assertEquals(5, SoakCommand.percentile(sorted, 0.5));
        assertEquals(10, SoakCommand.percentile(sorted, 0.99));
        assertEquals(10, SoakCommand.percentile(sorted, 1.0));
        assertTrue(Double.isNaN(SoakCommand.percentile(new double[0], 0.5)));
    }
}
