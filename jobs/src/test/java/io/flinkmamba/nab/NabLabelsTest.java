package io.flinkmamba.nab;

import io.flinkmamba.nab.CorpusNotes.Kind;
import io.flinkmamba.nab.NabCorpus.Series;
import io.flinkmamba.nab.NabCorpus.Window;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static io.flinkmamba.nab.TestCorpus.at;
import static io.flinkmamba.nab.TestCorpus.rows;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The labels' rules on a small corpus written by the test: each bad case's exact message or count. */
class NabLabelsTest {
    @TempDir
    Path dir;

    private static final LocalDateTime T0 = LocalDateTime.of(2015, 1, 1, 0, 0);

    private static String labels(String aWindows) {
        return "{\"cat/a.csv\": [" + aWindows + "], \"cat/b.csv\": []}";
    }

    private static String window(String start, String end) {
        return "[\"" + start + "\", \"" + end + "\"]";
    }

    private static Window minutes(int start, int end) {
        return new Window(T0.plusMinutes(start), T0.plusMinutes(end));
    }

    @Test
    void labelsOfUnknownFilesAreIgnoredAndUnlabelledFilesLeftOut() throws IOException {
        TestCorpus c = TestCorpus.standard(dir).data("other/c.csv", rows(20))
                .labels("{\"cat/a.csv\": [" + window(at(10), at(12)) + "], \"cat/b.csv\": [],"
                        + " \"cat/gone.csv\": [], \"cat/gone2.csv\": []}");
        NabCorpus corpus = c.load();
        assertEquals(List.of("cat/a.csv", "cat/b.csv"), corpus.series().stream().map(Series::name).toList());
        assertEquals(List.of(
                "1 data files with no labels entry: left out of the corpus (first: " + c.file("other/c.csv") + ")",
                "2 labels entries that name no data file: ignored (first: " + c.labelsFile() + ": cat/gone.csv)"),
                corpus.notes().lines());
    }

    @Test
    void labelsForNoDataFileAreAnError() throws IOException {
        TestCorpus c = TestCorpus.standard(dir).labels("{\"x.csv\": []}");
        assertEquals(c.labelsFile() + " has an entry for none of the 2 data files", c.loadError());
    }

    @Test
    void windowsOutsideTheFileAreDroppedAndWindowsPastItsEndsNarrowed() throws IOException {
        NabCorpus corpus = TestCorpus.standard(dir).labels(labels(window("2014-12-31 23:00:00", "2014-12-31 23:50:00")
                + ", " + window(at(30), at(40)) + ", " + window("2014-12-31 23:58:00", at(2))
                + ", " + window(at(18), at(25)))).load();
        assertEquals(List.of(minutes(0, 2), minutes(18, 19)), corpus.windows("cat/a.csv"));
        assertEquals(2, corpus.notes().count(Kind.WINDOW_DROPPED));
        assertEquals(2, corpus.notes().count(Kind.WINDOW_NARROWED));
    }

    @Test
    void windowLimitsThatAreNoRowAreNarrowedToTheRowsInside() throws IOException {
        TestCorpus c = TestCorpus.standard(dir).labels(labels(window("2015-01-01 00:09:30", "2015-01-01 00:12:30")
                + ", " + window("2015-01-01 00:15:10", "2015-01-01 00:15:50")));
        NabCorpus corpus = c.load();
        assertEquals(List.of(minutes(10, 12)), corpus.windows("cat/a.csv"));
        assertEquals(List.of(
                "1 windows whose limits are no row's timestamp (or lie past the file's ends): narrowed to the rows"
                        + " inside (first: " + c.labelsFile() + ": cat/a.csv window [2015-01-01 00:09:30,"
                        + " 2015-01-01 00:12:30])",
                "1 windows with no row inside (outside the file's time range, or between two rows): dropped (first: "
                        + c.labelsFile() + ": cat/a.csv window [2015-01-01 00:15:10, 2015-01-01 00:15:50])"),
                corpus.notes().lines());
        boolean[] inside = corpus.labels(corpus.series().get(0));
        assertEquals(3, IntStream.range(0, 20).filter(i -> inside[i]).count());
        assertTrue(inside[10] && inside[12]);
    }

    @Test
    void overlappingWindowsAreMergedInTimeOrder() throws IOException {
        NabCorpus corpus = TestCorpus.standard(dir).labels(labels(window(at(14), at(16)) + ", "
                + window(at(4), at(6)) + ", " + window(at(6), at(9)) + ", " + window(at(15), at(15)) + ", "
                + window(at(10), at(11)))).load();
        assertEquals(List.of(minutes(4, 9), minutes(10, 11), minutes(14, 16)), corpus.windows("cat/a.csv"));
        assertEquals(2, corpus.notes().count(Kind.WINDOW_MERGED));
        assertEquals(3, corpus.windowCount());
        // the scorer takes the merged windows as they are: windows in order and apart
        Map<String, double[]> scores = Map.of("cat/a.csv", NabCorpusDataTest.detectAt(20, 4, 10, 14),
                "cat/b.csv", new double[20]);
        assertEquals(100.0, NabBenchmark.optimized(corpus, scores, Profile.NAB.get(0)).normalized(), 1e-9);
    }

    @Test
    void windowLimitsOnRepeatedTimestampsAreTheirFirstRowAsInNab() throws IOException {
        // minutes 0..9, minute 9 again (row 10), 10..19 (rows 11..20)
        NabCorpus corpus = TestCorpus.standard(dir).data("cat/a.csv", rows(10) + at(9) + ",9\n"
                + NabCorpusDataTest.rowsFrom(10, 20))
                .labels(labels(window(at(5), at(9)) + ", " + window("2015-01-01 00:09:30", "2015-01-01 00:12:30")))
                .load();
        assertEquals(List.of(minutes(5, 9), minutes(10, 12)), corpus.windows("cat/a.csv"));
        // the first window ends at row 9 (NAB's first match), so row 10, the repeat, is a false positive
        Series a = corpus.series().get(0);
        Sweeper sweeper = new Sweeper(Profile.NAB.get(0));
        Sweeper.Score score = sweeper.score(sweeper.sweep(a, corpus.windows("cat/a.csv"),
                NabCorpusDataTest.detectAt(21, 10)), 0.5);
        assertEquals(1, score.fp());
        assertEquals(0, score.tp());
    }

    @Test
    void aWindowThatStartsAfterItEndsIsAnError() throws IOException {
        TestCorpus c = TestCorpus.standard(dir).labels(labels(window(at(1), at(2)) + ", " + window(at(12), at(10))));
        assertEquals(c.labelsFile() + ": cat/a.csv window 2: starts after it ends: [\"" + at(12) + "\",\"" + at(10)
                + "\"]", c.loadError());
    }

    @Test
    void malformedLabelsAreErrors() throws IOException {
        TestCorpus c = TestCorpus.standard(dir).labels(labels(window(at(1), "soon")));
        assertEquals(c.labelsFile() + ": cat/a.csv window 1: timestamp 'soon' is not yyyy-MM-dd HH:mm:ss"
                + " (or ISO 8601)", c.loadError());
        c.labels(labels("[\"" + at(1) + "\"]"));
        assertEquals(c.labelsFile() + ": cat/a.csv window 1: not [start, end] timestamps: [\"" + at(1) + "\"]",
                c.loadError());
        c.labels("{\"cat/a.csv\": {}}");
        assertEquals(c.labelsFile() + ": cat/a.csv: not a list of windows", c.loadError());
        c.labels("[]");
        assertEquals(c.labelsFile() + ": not a JSON object of data file names to lists of windows", c.loadError());
        c.labels("{\"cat/a.csv\": [], \"cat/a.csv\": []}");
        assertEquals(c.labelsFile() + ": not valid JSON at line 1: Duplicate field 'cat/a.csv'", c.loadError());
        c.labels("{\"cat/a.csv\": [");
        assertTrue(c.loadError().startsWith(c.labelsFile() + ": not valid JSON at line 1: "));
    }

    @Test
    void aCorpusWithoutAnyWindowCannotBeNormalized() throws IOException {
        NabCorpus corpus = TestCorpus.standard(dir).labels("{\"cat/a.csv\": [], \"cat/b.csv\": []}").load();
        Map<String, double[]> scores = Map.of("cat/a.csv", new double[20], "cat/b.csv", new double[20]);
        assertEquals("the series have no anomaly window: NAB's normalized score needs one",
                assertThrows(IllegalArgumentException.class,
                        () -> NabBenchmark.optimized(corpus, scores, Profile.NAB.get(0))).getMessage());
    }

    @Test
    void profilesOfConfigAreReadAndBadOnesAreErrors() throws IOException {
        TestCorpus c = TestCorpus.standard(dir);
        Path profiles = dir.resolve("config").resolve("profiles.json");
        Files.createDirectories(profiles.getParent());
        Files.writeString(profiles, "{\"mine\": {\"CostMatrix\": {\"tpWeight\": 2.0, \"fpWeight\": 0.5,"
                + " \"fnWeight\": 1.5}}}");
        assertEquals(List.of(new Profile("mine", 2.0, 0.5, 1.5)), c.load().profiles());
        Files.writeString(profiles, "{\"mine\": {\"CostMatrix\": {\"tpWeight\": 0, \"fpWeight\": 0.5,"
                + " \"fnWeight\": 1.5}}}");
        assertEquals(profiles + ": profile mine: CostMatrix.tpWeight must be a finite number above 0", c.loadError());
        Files.writeString(profiles, "{}");
        assertEquals(profiles + ": no profiles (a JSON object of name to {\"CostMatrix\": {...}})", c.loadError());
    }
}
