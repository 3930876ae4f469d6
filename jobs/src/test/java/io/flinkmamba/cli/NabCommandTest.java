package io.flinkmamba.cli;

import io.flinkmamba.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code nab} end to end on three small series of the corpus (skipped without ../shared/nab). */
class NabCommandTest {
    private static final List<String> SERIES = List.of(
            "realAdExchange/exchange-3_cpc_results.csv",
            "realAWSCloudwatch/iio_us-east-1_i-a2eb1cd9_NetworkIn.csv",
            "realTraffic/speed_7578.csv");

    @Test
    void runsTheSubsetAndPrintsTheScores(@TempDir Path out) throws Exception {
        Path nab = SharedData.require("nab");
        CliRun run = CliRun.of("nab", "--nab-dir", nab.toString(), "--out", out.toString(),
                "--files", String.join(",", SERIES), "--folds", "3", "--epochs", "1", "--d-model", "8",
                "--train-rows", "600", "--threads", "2", "--detector", "mamba,rcf");
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("k-fold by series"), run.out());

        // Recorded on the development machine (training and both detectors are deterministic); the tolerance
        // allows the last bits of another CPU's SIMD sums, not a change of the detectors.
        assertScores(run.out(), "flinkMamba", 71.23, 69.40, 73.41);
        assertScores(run.out(), "flinkMambaRcf", 71.07, 68.41, 73.30);

        for (String series : SERIES) {
            Path name = Path.of(series);
            Path results = out.resolve("flinkMamba").resolve(name.getParent())
                    .resolve("flinkMamba_" + name.getFileName());
            List<String> rows = Files.readAllLines(results);
            List<String> data = Files.readAllLines(nab.resolve("data").resolve(series));
            assertEquals("timestamp,value,anomaly_score,label", rows.get(0));
            assertEquals(data.size(), rows.size(), series);
            for (int i = 1; i < rows.size(); i++) {
                String[] cells = rows.get(i).split(",");
                assertEquals(4, cells.length, rows.get(i));
                assertEquals(data.get(i).split(",")[0], cells[0], series + " row " + i);
                assertEquals(Double.parseDouble(data.get(i).split(",")[1]), Double.parseDouble(cells[1]), 0.0);
                double score = Double.parseDouble(cells[2]);
                assertTrue(score >= 0 && score <= 1, rows.get(i));
                assertTrue(cells[3].equals("0") || cells[3].equals("1"), rows.get(i));
            }
        }
        assertTrue(Files.exists(out.resolve("flinkMamba").resolve("flinkMamba_standard_scores.csv")));
    }

    private static void assertScores(String out, String detector, double... expected) {
        Matcher line = Pattern.compile("nab detector=" + detector + " standard=(-?\\d+\\.\\d+)"
                + " reward_low_FP_rate=(-?\\d+\\.\\d+) reward_low_FN_rate=(-?\\d+\\.\\d+)").matcher(out);
        assertTrue(line.find(), out);
        for (int g = 1; g <= 3; g++) {
            assertEquals(expected[g - 1], Double.parseDouble(line.group(g)), 0.5, line.group());
        }
    }

    @Test
    void refusesAFolderThatIsNotNab(@TempDir Path dir) {
        CliRun run = CliRun.of("nab", "--nab-dir", dir.toString(), "--out", dir.resolve("out").toString());
        assertEquals(2, run.exit());
        assertTrue(run.err().contains("is not a NAB folder"), run.err());
    }

    @Test
    void resultsOnlyScoresADetectorsFolderOrFailsWithOneLine(@TempDir Path dir) throws IOException {
        StringBuilder data = new StringBuilder("timestamp,value\n");
        StringBuilder results = new StringBuilder("timestamp,anomaly_score\n");
        for (int i = 0; i < 20; i++) {
            String at = String.format("2015-01-01 00:%02d:00", i);
            data.append(at).append(',').append(i).append('\n');
            results.append(at).append(',').append(i == 10 ? 1 : 0).append('\n');
        }
        Files.createDirectories(dir.resolve("data/cat"));
        Files.writeString(dir.resolve("data/cat/a.csv"), data);
        Files.createDirectories(dir.resolve("labels"));
        Files.writeString(dir.resolve("labels/combined_windows.json"),
                "{\"cat/a.csv\": [[\"2015-01-01 00:10:00\", \"2015-01-01 00:12:00\"]]}");
        Files.createDirectories(dir.resolve("det/cat"));
        Files.writeString(dir.resolve("det/cat/det_a.csv"), results);

        CliRun run = CliRun.of("nab", "--nab-dir", dir.toString(), "--results-only", dir.resolve("det").toString());
        assertEquals(0, run.exit(), run.err());
        assertEquals("nab standard=100.00 reward_low_FP_rate=100.00 reward_low_FN_rate=100.00", run.lastLine());

        Files.delete(dir.resolve("det/cat/det_a.csv"));
        run = CliRun.of("nab", "--nab-dir", dir.toString(), "--results-only", dir.resolve("det").toString());
        assertEquals(2, run.exit());
        assertEquals("nab: " + dir.resolve("det") + ": no results file for series cat/a.csv ("
                + dir.resolve("det/cat/det_a.csv") + "[.gz]; the folder's name is the detector's, as NAB's"
                + " results/<detector>/)", run.err().strip());
    }
}
