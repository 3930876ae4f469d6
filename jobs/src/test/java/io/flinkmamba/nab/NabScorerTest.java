package io.flinkmamba.nab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkmamba.nab.NabCorpus.Series;
import io.flinkmamba.nab.Sweeper.Score;
import io.flinkmamba.testing.SharedData;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The scorer against NAB's published results: the per-row scores in, the published scores out. */
class NabScorerTest {
    private static Path nab;
    private static NabCorpus corpus;
    private static List<Profile> profiles;
    private static JsonNode thresholds;
    private static JsonNode finalResults;

    /** Each test skips visibly without the corpus (an aborted {@code @BeforeAll} would report no test at all). */
    @BeforeEach
    void load() throws IOException {
        nab = SharedData.require("nab");
        if (corpus != null) {
            return;
        }
        corpus = NabCorpus.load(nab);
        profiles = Profile.load(nab.resolve("config/profiles.json"));
        thresholds = new ObjectMapper().readTree(nab.resolve("config/thresholds.json").toFile());
        finalResults = new ObjectMapper().readTree(nab.resolve("results/final_results.json").toFile());
    }

    @ParameterizedTest
    @CsvSource({"numenta", "windowedGaussian"})
    void reproducesThePublishedScores(String detector) throws IOException {
        assertEquals(58, corpus.series().size());
        assertEquals(116, corpus.windowCount());
        // NAB's corpus: 37 rows repeat the previous timestamp (daylight saving time), one goes back; nothing else
        assertEquals(37, corpus.notes().count(CorpusNotes.Kind.REPEATED_TIMESTAMP));
        assertEquals(1, corpus.notes().count(CorpusNotes.Kind.BACKWARD_TIMESTAMP));
        assertEquals(2, corpus.notes().lines().size(), corpus.notes().lines().toString());
        assertEquals(Profile.NAB, profiles);
        assertEquals(Profile.NAB, corpus.profiles());
        Map<String, double[]> scores = publishedAnomalyScores(detector);
        for (Profile profile : profiles) {
            double threshold = thresholds.path(detector).path(profile.name()).path("threshold").asDouble();
            NabBenchmark result = NabBenchmark.atThreshold(corpus, scores, profile, threshold);
            Map<String, String[]> published = publishedFileScores(detector, profile.name());
            assertEquals(58, result.files().size());
            for (Map.Entry<String, Score> e : result.files().entrySet()) {
                String[] row = published.get(e.getKey());
                Score s = e.getValue();
                String where = detector + " " + profile.name() + " " + e.getKey();
                assertEquals(Double.parseDouble(row[4]), s.score(), 1e-6, where);
                assertEquals(Integer.parseInt(row[5]), s.tp(), where + " TP");
                assertEquals(Integer.parseInt(row[6]), s.tn(), where + " TN");
                assertEquals(Integer.parseInt(row[7]), s.fp(), where + " FP");
                assertEquals(Integer.parseInt(row[8]), s.fn(), where + " FN");
                assertEquals(Integer.parseInt(row[9]), s.rows(), where + " rows");
            }
            assertEquals(Double.parseDouble(published.get("Totals")[4]), result.total().score(), 1e-6);
            double publishedNormalized = finalResults.path(detector).path(profile.name()).asDouble(Double.NaN);
            assertEquals(publishedNormalized, result.normalized(), 1e-6, detector + " " + profile.name());

            // NAB's own optimizer picks the best of every threshold, so it can only match or beat the
            // published one (which came from an older hill-climbing search)
            NabBenchmark optimized = NabBenchmark.optimized(corpus, scores, profile);
            assertTrue(optimized.total().score() >= result.total().score() - 1e-9,
                    detector + " " + profile.name() + ": " + optimized.total() + " < " + result.total());
        }
    }

    private static Map<String, double[]> publishedAnomalyScores(String detector) throws IOException {
        Map<String, double[]> scores = new HashMap<>();
        for (Series s : corpus.series()) {
            Path file = Path.of(s.name());
            Path results = nab.resolve("results").resolve(detector).resolve(file.getParent().toString())
                    .resolve(detector + "_" + file.getFileName() + ".gz");
            scores.put(s.name(), NabResults.readScores(results, s, new CorpusNotes()));
        }
        return scores;
    }

    /** Published per-file rows: Detector,Profile,File,Threshold,Score,TP,TN,FP,FN,Total_Count; "Totals" too. */
    private static Map<String, String[]> publishedFileScores(String detector, String profile) throws IOException {
        Map<String, String[]> rows = new HashMap<>();
        List<String> lines = Files.readAllLines(
                nab.resolve("results").resolve(detector).resolve(detector + "_" + profile + "_scores.csv"));
        for (String line : lines.subList(1, lines.size())) {
            String[] cells = line.split(",", -1);
            rows.put(cells[0].equals("Totals") ? "Totals" : cells[2], cells);
        }
        return rows;
    }
}
