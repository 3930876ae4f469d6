package io.flinkmamba.nab;

import io.flinkmamba.nab.NabCorpus.Series;
import io.flinkmamba.nab.Sweeper.Score;
import io.flinkmamba.nab.Sweeper.SweptFile;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A detector's NAB result for one profile, as NAB's runner reports it: the threshold optimized over the
 * whole corpus (or a given one), the raw score summed over the files, and the score normalized against
 * the null detector (detects nothing) and the perfect one (detects every window at its start):
 * {@code 100 (raw - null) / (perfect - null)}.
 */
public record NabBenchmark(Profile profile, Score total, Map<String, Score> files, double nullScore,
                           double perfectScore) {

    public double normalized() {
        return 100 * (total.score() - nullScore) / (perfectScore - nullScore);
    }

    /** Scores a detector's anomaly scores (one array per series, by name) at the best corpus-wide threshold. */
    public static NabBenchmark optimized(NabCorpus corpus, Map<String, double[]> anomalyScores, Profile profile) {
        return evaluate(corpus, anomalyScores, profile, Double.NaN);
    }

    /** Scores a detector's anomaly scores at a given threshold (a published one, say). */
    public static NabBenchmark atThreshold(NabCorpus corpus, Map<String, double[]> anomalyScores, Profile profile,
                                           double threshold) {
        if (Double.isNaN(threshold)) {
            throw new IllegalArgumentException("threshold is NaN");
        }
        return evaluate(corpus, anomalyScores, profile, threshold);
    }

    private static NabBenchmark evaluate(NabCorpus corpus, Map<String, double[]> anomalyScores, Profile profile,
                                         double threshold) {
        Sweeper sweeper = new Sweeper(profile);
        List<SweptFile> swept = new ArrayList<>();
        int windows = 0;
        for (Series s : corpus.series()) {
            double[] scores = anomalyScores.get(s.name());
            if (scores == null) {
                throw new IllegalArgumentException("no anomaly scores for " + s.name());
            }
            swept.add(sweeper.sweep(s, corpus.windows(s.name()), scores));
            windows += corpus.windows(s.name()).size();
        }
        // The optimizer's result already is the corpus's score at the threshold it chose.
        Score total = Double.isNaN(threshold) ? sweeper.optimize(swept) : sweeper.score(swept, threshold);
        Map<String, Score> files = new LinkedHashMap<>();
        for (SweptFile f : swept) {
            files.put(f.name(), sweeper.score(f, total.threshold()));
        }
        double nullScore = -profile.fnWeight() * swept.stream().mapToInt(SweptFile::windowCount).sum();
        return new NabBenchmark(profile, total, files, nullScore, windows * profile.tpWeight());
    }
}
