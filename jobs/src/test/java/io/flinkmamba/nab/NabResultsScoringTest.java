package io.flinkmamba.nab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkmamba.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static io.flinkmamba.nab.TestCorpus.at;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code nab --results-only}: NAB's published results of two detectors scored again through the optimizer
 * (skipped without ../shared/nab), and each check of a detector's results on a small corpus written by the test.
 */
class NabResultsScoringTest {
    @TempDir
    Path dir;

    /** One run of the command's logic, with what it printed. */
    private record Run(int exit, List<String> out, String err) {
        String lastLine() {
            return out.get(out.size() - 1);
        }
    }

    private static Run run(Path nabDir, Path detectorDir) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = NabResultsScoring.run(nabDir, detectorDir, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8).lines().toList(),
                err.toString(StandardCharsets.UTF_8).strip());
    }

    /**
     * NAB's published results of numenta and windowedGaussian, scored through the optimizer, give NAB's
     * published normalized scores (final_results.json) to 0.01, but for numenta's reward_low_FP_rate: there the
     * optimizer finds 63.21 at threshold 0.5431, above the published 63.12 at 0.5752 (config/thresholds.json,
     * from NAB's earlier hill-climbing search); at that threshold the scores read here give 63.12 again.
     */
    @ParameterizedTest
    @CsvSource({"numenta, 70.10, 63.21, 74.32", "windowedGaussian, 39.65, 20.87, 47.41"})
    void reproducesThePublishedNormalizedScores(String detector, String standard, String lowFp, String lowFn)
            throws IOException {
        Path nab = SharedData.require("nab");
        Path results = nab.resolve("results").resolve(detector);
        Run run = run(nab, results);
        assertEquals(0, run.exit(), run.err());
        assertEquals("nab standard=" + standard + " reward_low_FP_rate=" + lowFp + " reward_low_FN_rate=" + lowFn,
                run.lastLine());
        // NAB's own per-profile scores files lie beside the category folders: no results files, not counted
        assertTrue(run.out().contains("nab: results of " + detector + " in " + results + ": 58 files"),
                run.out().toString());

        NabCorpus corpus = NabCorpus.load(nab);
        CorpusNotes notes = new CorpusNotes();
        Map<String, double[]> scores = NabResultsScoring.read(corpus, results, detector, notes);
        assertTrue(notes.isEmpty(), notes.lines().toString());
        JsonNode published = new ObjectMapper().readTree(nab.resolve("results/final_results.json").toFile());
        JsonNode thresholds = new ObjectMapper().readTree(nab.resolve("config/thresholds.json").toFile());
        for (Profile p : corpus.profiles()) {
            String where = detector + " " + p.name();
            double expected = published.path(detector).path(p.name()).asDouble(Double.NaN);
            double threshold = thresholds.path(detector).path(p.name()).path("threshold").asDouble(Double.NaN);
            NabBenchmark atPublished = NabBenchmark.atThreshold(corpus, scores, p, threshold);
            assertEquals(expected, atPublished.normalized(), 1e-6, where);
            assertTrue(NabBenchmark.optimized(corpus, scores, p).normalized() >= expected - 1e-9, where);
        }
    }

    /** A results file of 20 rows with the given scores at the given rows (0 elsewhere), NAB's four columns. */
    private static String results(String... rowScores) {
        String[] score = new String[TestCorpus.ROWS];
        Arrays.fill(score, "0.0");
        for (int i = 0; i < rowScores.length; i += 2) {
            score[Integer.parseInt(rowScores[i])] = rowScores[i + 1];
        }
        StringBuilder s = new StringBuilder("timestamp,value,anomaly_score,label\n");
        for (int i = 0; i < TestCorpus.ROWS; i++) {
            s.append(at(i)).append(',').append(i).append(',').append(score[i]).append(",0\n");
        }
        return s.toString();
    }

    /** The standard test corpus with a perfect detector's results: 1 at each window's first row, plain and gzipped. */
    private TestCorpus perfect() throws IOException {
        return TestCorpus.standard(dir).results("det/cat/det_a.csv", results("10", "1.0"))
                .results("det/cat/det_b.csv.gz", results("5", "1"));
    }

    @Test
    void aPerfectDetectorScores100AndExtraFilesAreCounted() throws IOException {
        perfect().results("det/det_standard_scores.csv", "NAB's scores: not a results file\n")
                .results("det/cat/det_c.csv", results()).results("det/other/notes.txt", "ignored: not a csv\n");
        Run run = run(dir, dir.resolve("results/det"));
        assertEquals(0, run.exit(), run.err());
        assertEquals(List.of(
                "nab: corpus " + dir + ": 2 series, 40 rows, 2 windows; profiles standard, reward_low_FP_rate,"
                        + " reward_low_FN_rate (NAB's, no config/profiles.json)",
                "nab: results of det in " + dir.resolve("results/det") + ": 2 files",
                "nab: 1 results files of no series of the corpus: ignored (first: "
                        + dir.resolve("results/det/cat/det_c.csv") + ")",
                "standard            threshold 1.000000  raw 2.0000 (null -2.0, perfect 2.0)  TP rows 2, FP rows 0"
                        + "  score 100.00",
                "reward_low_FP_rate  threshold 1.000000  raw 2.0000 (null -2.0, perfect 2.0)  TP rows 2, FP rows 0"
                        + "  score 100.00",
                "reward_low_FN_rate  threshold 1.000000  raw 2.0000 (null -4.0, perfect 2.0)  TP rows 2, FP rows 0"
                        + "  score 100.00",
                "nab standard=100.00 reward_low_FP_rate=100.00 reward_low_FN_rate=100.00"), run.out());
    }

    @Test
    void emptyAndNanScoresAreScoredZeroAndCounted() throws IOException {
        perfect().results("det/cat/det_a.csv", results("10", "1.0", "3", "", "15", "NaN"));
        NabResultsScoring.Scored scored = NabResultsScoring.score(NabCorpus.load(dir), dir.resolve("results/det"));
        assertEquals(List.of("2 results rows with an empty or NaN anomaly_score: scored 0 (first: "
                + dir.resolve("results/det/cat/det_a.csv") + " line 5)"), scored.notes().lines());
        assertEquals(100.0, scored.benchmarks().get(0).normalized(), 1e-9);
    }

    @Test
    void missingAndAmbiguousResultsFilesAreErrors() throws IOException {
        TestCorpus c = TestCorpus.standard(dir).results("det/cat/det_a.csv", results());
        Path det = dir.resolve("results/det");
        assertEquals("nab: " + det + ": no results file for series cat/b.csv (" + det.resolve("cat/det_b.csv")
                + "[.gz]; the folder's name is the detector's, as NAB's results/<detector>/)", run(dir, det).err());
        assertEquals(2, run(dir, det).exit());
        c.results("det/cat/det_b.csv", results()).results("det/cat/det_b.csv.gz", results());
        assertEquals("nab: " + det.resolve("cat/det_b.csv") + " and " + det.resolve("cat/det_b.csv.gz")
                + " both exist: keep one", run(dir, det).err());
        assertEquals("nab: --results-only " + dir.resolve("nothing") + " is not a folder",
                run(dir, dir.resolve("nothing")).err());
    }

    @Test
    void rowsThatDisagreeWithTheDataAreErrors() throws IOException {
        Path det = dir.resolve("results/det");
        Path a = det.resolve("cat/det_a.csv");
        String good = results("10", "1.0");
        TestCorpus c = perfect().results("det/cat/det_a.csv", good.substring(0, good.lastIndexOf(at(19))));
        assertEquals("nab: " + a + ": 19 rows, data file cat/a.csv has 20", run(dir, det).err());
        c.results("det/cat/det_a.csv", good + at(20) + ",20,0.0,0\n");
        assertEquals("nab: " + a + " line 22: more rows than the 20 of data file cat/a.csv", run(dir, det).err());
        c.results("det/cat/det_a.csv", good.replace(at(7) + ",", at(8) + ","));
        assertEquals("nab: " + a + " line 9: timestamp '" + at(8) + "', but row 8 of data file cat/a.csv is at "
                + at(7), run(dir, det).err());
        c.results("det/cat/det_a.csv", good.replace("timestamp,value,anomaly_score", "timestamp,value,score"));
        assertEquals("nab: " + a + ": the header has no column 'anomaly_score' (it has timestamp, value, score,"
                + " label)", run(dir, det).err());
    }

    @Test
    void scoresOutsideTheUnitIntervalOrNoNumberAreErrors() throws IOException {
        Path det = dir.resolve("results/det");
        Path a = det.resolve("cat/det_a.csv");
        TestCorpus c = perfect().results("det/cat/det_a.csv", results("10", "1.5"));
        assertEquals("nab: " + a + " line 12: anomaly_score 1.5 is outside [0, 1]", run(dir, det).err());
        c.results("det/cat/det_a.csv", results("4", "-Infinity"));
        assertEquals("nab: " + a + " line 6: anomaly_score -Infinity is outside [0, 1]", run(dir, det).err());
        c.results("det/cat/det_a.csv", results("4", "high"));
        assertEquals("nab: " + a + " line 6: anomaly_score 'high' is not a number", run(dir, det).err());
    }

    @Test
    void onlyTheTimestampAndScoreColumnsAreNeeded() throws IOException {
        StringBuilder twoColumns = new StringBuilder("anomaly_score,timestamp\n");
        for (int i = 0; i < TestCorpus.ROWS; i++) {
            twoColumns.append(i == 10 ? "0.75" : "0.25").append(',').append(at(i).replace(' ', 'T')).append('\n');
        }
        perfect().results("det/cat/det_a.csv", twoColumns.toString());
        Run run = run(dir, dir.resolve("results/det"));
        assertEquals(0, run.exit(), run.err());
        assertEquals(String.format(Locale.ROOT, "nab standard=%.2f reward_low_FP_rate=%.2f reward_low_FN_rate=%.2f",
                100.0, 100.0, 100.0), run.lastLine());
    }

    @Test
    void theCommandsOwnResultsReadBackAsWrittenAndMustBeWhole() throws IOException {
        NabCorpus corpus = TestCorpus.standard(dir).load();
        Path out = dir.resolve("out");
        double[] a = NabCorpusDataTest.detectAt(20, 10);
        a[3] = 0.25;
        NabResults.write(out, "me", corpus, corpus.series().get(0), a);
        NabResults.write(out, "me", corpus, corpus.series().get(1), new double[20]);
        Map<String, double[]> read = NabResults.read(out, "me", corpus);
        assertArrayEquals(a, read.get("cat/a.csv"));
        assertEquals(at(11) + ",11.0,0.0,1", Files.readAllLines(out.resolve("me/cat/me_a.csv")).get(12));

        a[4] = Double.NaN;
        NabResults.write(out, "me", corpus, corpus.series().get(0), a);
        assertEquals(out.resolve("me") + ": the written results are not whole: 1 results rows with an empty or NaN"
                + " anomaly_score: scored 0 (first: " + out.resolve("me/cat/me_a.csv") + " line 6)",
                assertThrows(IOException.class,
                        () -> NabResults.read(out, "me", corpus)).getMessage());
    }
}
