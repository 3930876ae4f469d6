package io.flinkmamba.nab;

import io.flinkmamba.nab.NabCorpus.Series;
import io.flinkmamba.nab.Sweeper.Score;
import io.flinkmamba.nab.Sweeper.SweptFile;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
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

    /** The profile's line of the command's report: threshold, raw score, null and perfect, rows, score. */
    public String summary() {
        return String.format(Locale.ROOT, "%-19s threshold %.6f  raw %.4f (null %.1f, perfect %.1f)  TP rows %d,"
                        + " FP rows %d  score %.2f", profile.name(), total.threshold(), total.score(), nullScore,
                perfectScore, total.tp(), total.fp(), normalized());
    }

    /** The command's last line: {@code nab <profile>=<normalized score> ...}, two decimals. */
    public static String lastLine(List<NabBenchmark> results) {
        StringBuilder line = new StringBuilder("nab");
        for (NabBenchmark b : results) {
            line.append(String.format(Locale.ROOT, " %s=%.2f", b.profile().name(), b.normalized()));
        }
        return line.toString();
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
        if (windows == 0) {
            throw new IllegalArgumentException("the series have no anomaly window: NAB's normalized score needs one");
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
