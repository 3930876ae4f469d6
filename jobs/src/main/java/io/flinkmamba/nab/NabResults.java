package io.flinkmamba.nab;

import io.flinkmamba.nab.NabCorpus.Series;
import io.flinkmamba.nab.Sweeper.Score;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** A detector's results in NAB's layout: {@code <dir>/<detector>/<category>/<detector>_<name>.csv}, ... */
public final class NabResults {
    private NabResults() {}

    /** Where NAB keeps a detector's results for a series. */
    public static Path file(Path resultsDir, String detector, String series) {
        Path relative = Path.of(series);
        Path parent = relative.getParent();
        Path dir = resultsDir.resolve(detector);
        return (parent == null ? dir : dir.resolve(parent)).resolve(detector + "_" + relative.getFileName());
    }

    /** Writes one series' results: {@code timestamp,value,anomaly_score,label} (label 1 inside a window). */
    public static Path write(Path resultsDir, String detector, NabCorpus corpus, Series series, double[] anomalyScores)
            throws IOException {
        Path file = file(resultsDir, detector, series.name());
        Files.createDirectories(file.getParent());
        boolean[] labels = corpus.labels(series);
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            out.write("timestamp,value,anomaly_score,label\n");
            for (int i = 0; i < series.size(); i++) {
                out.write(NabCorpus.TIMESTAMP_OUT.format(series.timestamps()[i]));
                out.write(',');
                out.write(Double.toString(series.values()[i]));
                out.write(',');
                out.write(Double.toString(anomalyScores[i]));
                out.write(labels[i] ? ",1\n" : ",0\n");
            }
        }
        return file;
    }

    /** Reads back the anomaly scores of every series from the results files. */
    public static Map<String, double[]> read(Path resultsDir, String detector, NabCorpus corpus) throws IOException {
        Map<String, double[]> scores = new LinkedHashMap<>();
        for (Series s : corpus.series()) {
            scores.put(s.name(), NabCorpus.readAnomalyScores(file(resultsDir, detector, s.name()), s));
        }
        return scores;
    }

    /** NAB's per-profile scores file: one row per series, then the totals. */
    public static Path writeScores(Path resultsDir, String detector, NabBenchmark result) throws IOException {
        Path file = resultsDir.resolve(detector).resolve(detector + "_" + result.profile().name() + "_scores.csv");
        Files.createDirectories(file.getParent());
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            out.write("Detector,Profile,File,Threshold,Score,TP,TN,FP,FN,Total_Count\n");
            Map<String, Score> rows = new LinkedHashMap<>(result.files());
            for (Map.Entry<String, Score> e : rows.entrySet()) {
                out.write(row(detector + "," + result.profile().name() + "," + e.getKey(), e.getValue()));
            }
            out.write(row("Totals,,", result.total()));
        }
        return file;
    }

    private static String row(String head, Score s) {
        return String.format(Locale.ROOT, "%s,%s,%s,%d,%d,%d,%d,%d%n", head, s.threshold(), s.score(), s.tp(), s.tn(),
                s.fp(), s.fn(), s.rows());
    }
}
