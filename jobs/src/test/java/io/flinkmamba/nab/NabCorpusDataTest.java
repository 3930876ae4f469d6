package io.flinkmamba.nab;

import io.flinkmamba.nab.CorpusNotes.Kind;
import io.flinkmamba.nab.NabCorpus.Series;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static io.flinkmamba.nab.TestCorpus.at;
import static io.flinkmamba.nab.TestCorpus.rows;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The data files' rules on a small corpus written by the test: each bad case's exact message or count. */
class NabCorpusDataTest {
    @TempDir
    Path dir;

    private static final LocalDateTime T0 = LocalDateTime.of(2015, 1, 1, 0, 0);

    @Test
    void aCleanCorpusWithoutConfigHasNabsProfilesAndNoNotes() throws IOException {
        NabCorpus corpus = TestCorpus.standard(dir).load();
        assertEquals(List.of("cat/a.csv", "cat/b.csv"), corpus.series().stream().map(Series::name).toList());
        assertEquals(Profile.NAB, corpus.profiles());
        assertTrue(corpus.notes().isEmpty(), corpus.notes().lines().toString());
        assertEquals(List.of("corpus " + dir + ": 2 series, 40 rows, 2 windows; profiles standard,"
                + " reward_low_FP_rate, reward_low_FN_rate (NAB's, no config/profiles.json)"), corpus.report());
        assertEquals(new Profile("reward_low_FN_rate", 1.0, 0.11, 2.0), Profile.NAB.get(2));
    }

    @Test
    void missingValuesAreKeptWithThePreviousValueAndCounted() throws IOException {
        TestCorpus c = TestCorpus.standard(dir).data("cat/a.csv", "timestamp,value\n"
                + at(0) + ",\n" + at(1) + ",NaN\n" + at(2) + ",2\n" + at(3) + ",null\n" + at(4) + ",Infinity\n"
                + at(5) + ",5\n" + at(6) + ",n/a\n" + rowsFrom(7, 20));
        NabCorpus corpus = c.load();
        Series a = corpus.series().get(0);
        assertEquals(20, a.size());
        assertArrayEquals(new double[] {2, 2, 2, 2, 2, 5, 5, 7}, Arrays.copyOf(a.values(), 8));
        assertArrayEquals(new int[] {0, 1, 3, 4, 6}, a.filled());
        assertEquals(5, a.filledRows());
        assertEquals(5, corpus.notes().count(Kind.MISSING_VALUE));
        assertEquals(List.of("5 rows with an empty, NaN or infinite value: kept, with the previous row's value"
                + " (the first value for the rows before it) (first: " + c.file("cat/a.csv") + " line 2)"),
                corpus.notes().lines());
    }

    @Test
    void aFileWithNoValueAtAllIsAnError() throws IOException {
        TestCorpus c = TestCorpus.standard(dir).data("cat/a.csv", "timestamp,value\n" + at(0) + ",\n" + at(1) + ",nan\n");
        assertEquals(c.file("cat/a.csv") + ": no row has a value", c.loadError());
    }

    @Test
    void aValueThatIsNoNumberIsAnError() throws IOException {
        TestCorpus c = TestCorpus.standard(dir).data("cat/a.csv", "timestamp,value\n" + at(0) + ",1\n"
                + at(1) + ",12abc\n");
        assertEquals(c.file("cat/a.csv") + " line 3: value '12abc' is not a number", c.loadError());
    }

    @Test
    void aMissingColumnIsAnError() throws IOException {
        TestCorpus c = TestCorpus.standard(dir).data("cat/a.csv", "timestamp,val\n" + at(0) + ",1\n");
        assertEquals(c.file("cat/a.csv") + ": the header has no column 'value' (it has timestamp, val)",
                c.loadError());
    }

    @Test
    void aColumnNamedTwiceIsAnError() throws IOException {
        TestCorpus c = TestCorpus.standard(dir).data("cat/a.csv", "timestamp,value,Value\n" + at(0) + ",1,2\n");
        assertEquals(c.file("cat/a.csv") + ": the header names column 'value' twice", c.loadError());
    }

    @Test
    void extraColumnsInAnyOrderAreIgnoredAndCounted() throws IOException {
        TestCorpus c = TestCorpus.standard(dir).data("cat/a.csv", "\uFEFF\"Value\",label,\"timestamp\"\n"
                + rows(20).lines().skip(1).map(l -> l.split(",")[1] + ",0,\"" + l.split(",")[0] + "\"")
                .reduce("", (s, l) -> s + l + "\n"));
        NabCorpus corpus = c.load();
        Series a = corpus.series().get(0);
        assertEquals(T0.plusMinutes(19), a.timestamps()[19]);
        assertEquals(19.0, a.values()[19]);
        assertEquals(List.of("1 files with more columns than the ones read: the others ignored (first: "
                + c.file("cat/a.csv") + ")"), corpus.notes().lines());
    }

    @Test
    void aRowWithAnotherNumberOfCellsIsAnError() throws IOException {
        TestCorpus c = TestCorpus.standard(dir).data("cat/a.csv", "timestamp,value\n" + at(0) + ",1\n"
                + at(1) + ",1,2\n");
        assertEquals(c.file("cat/a.csv") + " line 3: 3 cells, the header has 2", c.loadError());
        c.data("cat/a.csv", "timestamp,value\n" + at(0) + "\n");
        assertEquals(c.file("cat/a.csv") + " line 2: 1 cells, the header has 2", c.loadError());
    }

    @Test
    void repeatedAndBackwardTimestampsAreKeptInFileOrderAndCounted() throws IOException {
        TestCorpus c = TestCorpus.standard(dir).data("cat/a.csv", rows(10) + at(9) + ",100\n" + at(8) + ",101\n"
                + rowsFrom(10, 20));
        NabCorpus corpus = c.load();
        Series a = corpus.series().get(0);
        assertEquals(22, a.size());
        assertEquals(T0.plusMinutes(8), a.timestamps()[11]);
        assertEquals(101.0, a.values()[11]);
        assertEquals(List.of(
                "1 rows whose timestamp repeats the previous row's: kept, scored by position (as NAB does) (first: "
                        + c.file("cat/a.csv") + " line 12)",
                "1 rows whose timestamp is before the previous row's: kept in file order, scored by position (as NAB"
                        + " does) (first: " + c.file("cat/a.csv") + " line 13 ('" + at(8) + "' after '" + at(9) + "'))"),
                corpus.notes().lines());
        // the window over minutes 10..12 is rows 12..14 by position
        Map<String, double[]> scores = Map.of("cat/a.csv", detectAt(22, 12), "cat/b.csv", detectAt(20, 5));
        assertEquals(100.0, NabBenchmark.optimized(corpus, scores, Profile.NAB.get(0)).normalized(), 1e-9);
    }

    @Test
    void isoTimestampsAreAcceptedAndOtherFormatsAreErrors() throws IOException {
        TestCorpus c = TestCorpus.standard(dir).data("cat/a.csv", "timestamp,value\n"
                + "2015-01-01T00:00:00,0\n" + "2015-01-01 00:01,1\n" + "2015-01-01T00:02:00Z,2\n"
                + "2015-01-01T01:03:00+01:00,3\n" + "2015-01-01T00:04:00.000000,4\n" + "2015-01-01 02:05:00+0200,5\n"
                + rowsFrom(6, 20));
        Series a = c.load().series().get(0);
        for (int i = 0; i < 20; i++) {
            assertEquals(T0.plusMinutes(i), a.timestamps()[i], "row " + i);
        }
        c.data("cat/a.csv", "timestamp,value\n" + at(0) + ",1\n" + "01/01/2015 00:01,1\n");
        assertEquals(c.file("cat/a.csv") + " line 3: timestamp '01/01/2015 00:01' is not yyyy-MM-dd HH:mm:ss"
                + " (or ISO 8601)", c.loadError());
        c.data("cat/a.csv", "timestamp,value\n" + "2015-02-30 00:00:00,1\n");
        assertEquals(c.file("cat/a.csv") + " line 2: timestamp '2015-02-30 00:00:00' is not yyyy-MM-dd HH:mm:ss"
                + " (or ISO 8601)", c.loadError());
    }

    @Test
    void gapsAreFineForScoring() throws IOException {
        StringBuilder irregular = new StringBuilder("timestamp,value\n");
        int minute = 0;
        for (int i = 0; i < 20; i++) {
            irregular.append(at(minute)).append(',').append(i).append('\n');
            minute += i % 3 == 0 ? 7 : 1;
        }
        NabCorpus corpus = TestCorpus.standard(dir).data("cat/b.csv", irregular.toString())
                .labels("{\"cat/a.csv\": [], \"cat/b.csv\": [[\"" + at(25) + "\", \"" + at(27) + "\"]]}").load();
        assertTrue(corpus.notes().isEmpty(), corpus.notes().lines().toString());
        boolean[] labels = corpus.labels(corpus.series().get(1));
        assertEquals("[7, 8, 9]", IntStream.range(0, 20).filter(i -> labels[i]).boxed().toList()
                .toString());
        Map<String, double[]> scores = Map.of("cat/a.csv", new double[20], "cat/b.csv", detectAt(20, 7));
        assertEquals(100.0, NabBenchmark.optimized(corpus, scores, Profile.NAB.get(0)).normalized(), 1e-9);
    }

    @Test
    void anEmptyFileAndAHeaderOnlyAreErrors() throws IOException {
        TestCorpus c = TestCorpus.standard(dir).data("cat/a.csv", "");
        assertEquals(c.file("cat/a.csv") + ": empty file (it needs a header line, then a line per row)",
                c.loadError());
        c.data("cat/a.csv", "timestamp,value\n");
        assertEquals(c.file("cat/a.csv") + ": a header and no rows", c.loadError());
    }

    @Test
    void blankLinesAreSkippedAndCounted() throws IOException {
        TestCorpus c = TestCorpus.standard(dir).data("cat/a.csv", rows(10) + "\n  \n" + rowsFrom(10, 20));
        NabCorpus corpus = c.load();
        assertEquals(20, corpus.series().get(0).size());
        assertEquals(2, corpus.notes().count(Kind.BLANK_LINE));
        assertEquals(List.of("2 blank lines: skipped (first: " + c.file("cat/a.csv") + " line 12)"),
                corpus.notes().lines());
    }

    /** Rows from minute {@code from} to {@code to - 1} (value = minute), no header. */
    static String rowsFrom(int from, int to) {
        return rows(to).lines().skip(1 + from).reduce("", (s, l) -> s + l + "\n");
    }

    /** Anomaly scores of n rows: 1 at the given rows, 0 elsewhere. */
    static double[] detectAt(int n, int... rows) {
        double[] s = new double[n];
        for (int r : rows) {
            s[r] = 1.0;
        }
        return s;
    }
}
