package io.flinkmamba.nab;

import io.flinkmamba.nab.CorpusNotes.Kind;
import io.flinkmamba.nab.NabCorpus.Series;
import io.flinkmamba.nab.Sweeper.Score;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A detector's results in NAB's layout: {@code <dir>/<detector>/<category>/<detector>_<name>.csv} with at
 * least a {@code timestamp} and an {@code anomaly_score} column, one row per row of the data file.
 */
public final class NabResults {
    private NabResults() {}

    /** Where NAB keeps a detector's results for a series. */
    public static Path file(Path resultsDir, String detector, String series) {
        return fileIn(resultsDir.resolve(detector), detector, series);
    }

    /** The results file of a series in the detector's own folder ({@code <dir>/<detector>}). */
    static Path fileIn(Path detectorDir, String detector, String series) {
        Path relative = Path.of(series);
        Path parent = relative.getParent();
        return (parent == null ? detectorDir : detectorDir.resolve(parent))
                .resolve(detector + "_" + relative.getFileName());
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
                out.write(NabTimestamps.OUT.format(series.timestamps()[i]));
                out.write(',');
                out.write(Double.toString(series.values()[i]));
                out.write(',');
                out.write(Double.toString(anomalyScores[i]));
                out.write(labels[i] ? ",1\n" : ",0\n");
            }
        }
        return file;
    }

    /** Reads back the anomaly scores of every series from the results files written by {@link #write}. */
    public static Map<String, double[]> read(Path resultsDir, String detector, NabCorpus corpus) throws IOException {
        Map<String, double[]> scores = new LinkedHashMap<>();
        CorpusNotes notes = new CorpusNotes();
        for (Series s : corpus.series()) {
            scores.put(s.name(), readScores(file(resultsDir, detector, s.name()), s, notes));
        }
        if (!notes.isEmpty()) {
            throw new IOException(resultsDir.resolve(detector) + ": the written results are not whole: "
                    + notes.lines().get(0));
        }
        return scores;
    }

    /**
     * The {@code anomaly_score} column of a results file ({@code .csv}, or gzip-compressed {@code .csv.gz}),
     * checked row by row against the series: as many rows, the same timestamps. An empty or NaN score is 0
     * (counted); one outside [0, 1] or no number is an error.
     */
    public static double[] readScores(Path file, Series series, CorpusNotes notes) throws IOException {
        double[] scores = new double[series.size()];
        try (NabCsv csv = NabCsv.open(file)) {
            int time = csv.column("timestamp");
            int score = csv.column("anomaly_score");
            int row = 0;
            for (String[] cells = csv.next(notes); cells != null; cells = csv.next(notes)) {
                if (row == scores.length) {
                    throw new IOException(csv.where() + ": more rows than the " + scores.length + " of data file "
                            + series.name());
                }
                LocalDateTime t = NabTimestamps.parse(cells[time]);
                if (!series.timestamps()[row].equals(t)) {
                    throw new IOException(csv.where() + ": timestamp '" + cells[time] + "', but row " + (row + 1)
                            + " of data file " + series.name() + " is at "
                            + NabTimestamps.OUT.format(series.timestamps()[row]));
                }
                scores[row] = anomalyScore(cells[score], csv, notes);
                row++;
            }
            if (row != scores.length) {
                throw new IOException(file + ": " + row + " rows, data file " + series.name() + " has "
                        + scores.length);
            }
        }
        return scores;
    }

    private static double anomalyScore(String text, NabCsv csv, CorpusNotes notes) throws IOException {
        if (text.isEmpty() || text.equalsIgnoreCase("nan")) {
            notes.count(Kind.MISSING_SCORE, csv.where());
            return 0.0;
        }
        double v;
        try {
            v = Double.parseDouble(text);
        } catch (NumberFormatException e) {
            throw new IOException(csv.where() + ": anomaly_score '" + text + "' is not a number");
        }
        if (!(v >= 0 && v <= 1)) {
            throw new IOException(csv.where() + ": anomaly_score " + text + " is outside [0, 1]");
        }
        return v;
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
