package io.flinkmamba.nab;

import io.flinkmamba.nab.CorpusNotes.Kind;
import io.flinkmamba.nab.NabCorpus.Series;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * {@code nab --results-only DIR}: scores the results files of any detector, in NAB's layout, against a
 * corpus. {@code DIR} is one detector's folder, as NAB's {@code results/<detector>/}: its name is the
 * detector's, and it holds {@code <category>/<detector>_<name>.csv} (or {@code .csv.gz}) for every series
 * {@code <category>/<name>} of the corpus. Each is checked against the data ({@link NabResults#readScores});
 * results files of no series are counted and ignored; every profile is scored at the threshold optimized
 * over the corpus, as {@code nab} does after its own run.
 */
public final class NabResultsScoring {
    private NabResultsScoring() {}

    /** A detector's results, scored: one benchmark per profile, and what reading the results counted. */
    public record Scored(String detector, int files, List<NabBenchmark> benchmarks, CorpusNotes notes) {}

    /**
     * The command: prints the corpus report, the results' notes, a line per profile and the last line
     * {@code nab standard=<s> ...}; returns 0, or prints the one-line reason to {@code err} and returns 2.
     */
    public static int run(Path nabDir, Path detectorDir, PrintStream out, PrintStream err) {
        try {
            NabCorpus corpus = NabCorpus.load(nabDir);
            corpus.report().forEach(line -> out.println("nab: " + line));
            Scored scored = score(corpus, detectorDir);
            out.println("nab: results of " + scored.detector() + " in " + detectorDir + ": " + scored.files()
                    + " files");
            scored.notes().lines().forEach(line -> out.println("nab: " + line));
            scored.benchmarks().forEach(b -> out.println(b.summary()));
            out.println(NabBenchmark.lastLine(scored.benchmarks()));
            return 0;
        } catch (IOException | UncheckedIOException | IllegalArgumentException e) {
            err.println("nab: " + e.getMessage());
            return 2;
        }
    }

    /** Reads and checks the detector's results for every series of the corpus and scores each profile. */
    public static Scored score(NabCorpus corpus, Path detectorDir) throws IOException {
        if (!Files.isDirectory(detectorDir)) {
            throw new IOException("--results-only " + detectorDir + " is not a folder");
        }
        Path name = detectorDir.toAbsolutePath().normalize().getFileName();
        if (name == null) {
            throw new IOException("--results-only " + detectorDir + ": a detector's folder has the detector's name");
        }
        String detector = name.toString();
        CorpusNotes notes = new CorpusNotes();
        Map<String, double[]> scores = read(corpus, detectorDir, detector, notes);
        List<NabBenchmark> benchmarks = new ArrayList<>();
        for (Profile p : corpus.profiles()) {
            benchmarks.add(NabBenchmark.optimized(corpus, scores, p));
        }
        return new Scored(detector, scores.size(), benchmarks, notes);
    }

    /**
     * The anomaly scores of every series of the corpus, from the detector's results files (each checked
     * against the data); results files of no series are counted.
     */
    public static Map<String, double[]> read(NabCorpus corpus, Path detectorDir, String detector, CorpusNotes notes)
            throws IOException {
        Set<Path> expected = new HashSet<>();
        Map<String, double[]> scores = new LinkedHashMap<>();
        for (Series s : corpus.series()) {
            Path file = resultsFile(detectorDir, detector, s.name());
            expected.add(file);
            scores.put(s.name(), NabResults.readScores(file, s, notes));
        }
        for (Path file : resultsFiles(detectorDir)) {
            if (!expected.contains(file)) {
                notes.count(Kind.EXTRA_RESULTS, file.toString());
            }
        }
        return scores;
    }

    /** The series' results file, plain or gzipped (exactly one of them). */
    private static Path resultsFile(Path detectorDir, String detector, String series) throws IOException {
        Path plain = NabResults.fileIn(detectorDir, detector, series);
        Path gzipped = plain.resolveSibling(plain.getFileName() + ".gz");
        boolean hasPlain = Files.isRegularFile(plain);
        boolean hasGzipped = Files.isRegularFile(gzipped);
        if (hasPlain && hasGzipped) {
            throw new IOException(plain + " and " + gzipped + " both exist: keep one");
        }
        if (!hasPlain && !hasGzipped) {
            throw new IOException(detectorDir + ": no results file for series " + series + " (" + plain
                    + "[.gz]; the folder's name is the detector's, as NAB's results/<detector>/)");
        }
        return hasPlain ? plain : gzipped;
    }

    /** The results files in the detector's category folders (its own top-level files are NAB's scores). */
    private static List<Path> resultsFiles(Path detectorDir) throws IOException {
        try (Stream<Path> walk = Files.walk(detectorDir)) {
            return walk.filter(p -> detectorDir.relativize(p).getNameCount() > 1 && Files.isRegularFile(p))
                    .filter(p -> p.toString().endsWith(".csv") || p.toString().endsWith(".csv.gz"))
                    .sorted().toList();
        }
    }
}
