package io.flinkmamba.nab;

import io.flinkmamba.nab.NabCorpus.Series;
import io.flinkmamba.nab.NabCorpus.Window;
import io.flinkmamba.nab.Sweeper.Score;
import io.flinkmamba.nab.Sweeper.SweptFile;
import org.junit.jupiter.api.Test;

import java.time.LocalDateTime;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * NAB's scoring rules on a small series, by hand (runs without the corpus): 100 rows a minute apart, one
 * window over rows 40..49, so the probation period is rows 0..14.
 */
class SweeperTest {
    private static final Profile STANDARD = new Profile("standard", 1.0, 0.11, 1.0);
    private static final LocalDateTime T0 = LocalDateTime.of(2015, 1, 1, 0, 0);
    private static final Series SERIES = series(100);
    private static final List<Window> WINDOW = List.of(new Window(T0.plusMinutes(40), T0.plusMinutes(49)));

    private static Series series(int n) {
        LocalDateTime[] t = new LocalDateTime[n];
        for (int i = 0; i < n; i++) {
            t[i] = T0.plusMinutes(i);
        }
        return new Series("test/series.csv", t, new double[n]);
    }

    /** The score at threshold 0.5 of a detector that reports 1 at the given rows and 0 elsewhere. */
    private static Score detecting(int... rows) {
        double[] scores = new double[SERIES.size()];
        for (int r : rows) {
            scores[r] = 1.0;
        }
        Sweeper sweeper = new Sweeper(STANDARD);
        return sweeper.score(sweeper.sweep(SERIES, WINDOW, scores), 0.5);
    }

    /** NAB's scaled sigmoid, 2 sigmoid(-5x) - 1, written as tanh. */
    private static double sigmoid(double x) {
        return Math.tanh(-2.5 * x);
    }

    @Test
    void aMissedWindowCostsTheFnWeight() {
        Score s = detecting();
        assertEquals(-1.0, s.score(), 1e-12);
        assertEquals(0, s.tp());
        assertEquals(10, s.fn());
        assertEquals(0, s.fp());
        assertEquals(75, s.tn());
        assertEquals(100, s.rows());
    }

    @Test
    void theEarliestDetectionInAWindowCounts() {
        assertEquals(1.0, detecting(40).score(), 1e-12);
        assertEquals(sigmoid(-0.1) / sigmoid(-1.0), detecting(49).score(), 1e-12);
        assertEquals(1.0, detecting(40, 45, 49).score(), 1e-12);
        assertEquals(3, detecting(40, 45, 49).tp());
    }

    @Test
    void falsePositivesCostByTheirPlace() {
        assertEquals(-1.0 - 0.11, detecting(20).score(), 1e-12);            // before the first window
        assertEquals(-1.0, detecting(5).score(), 1e-12);                    // probation: never counts
        assertEquals(-1.0 + 0.11 * sigmoid(10.0 / 9), detecting(59).score(), 1e-12);
        assertEquals(-1.0 - 0.11, detecting(99).score(), 1e-12);            // over 3 window lengths past it
        assertEquals(1, detecting(20).fp());
    }

    @Test
    void aScoreAtTheThresholdIsADetection() {
        double[] scores = new double[SERIES.size()];
        scores[40] = 0.7;
        Sweeper sweeper = new Sweeper(STANDARD);
        SweptFile f = sweeper.sweep(SERIES, WINDOW, scores);
        assertEquals(1.0, sweeper.score(f, 0.7).score(), 1e-12);
        assertEquals(-1.0, sweeper.score(f, Math.nextUp(0.7)).score(), 1e-12);
    }

    @Test
    void theOptimizerTakesTheBestThreshold() {
        double[] scores = new double[SERIES.size()];
        scores[20] = 0.95;   // a false positive above the true one
        scores[40] = 0.9;
        scores[60] = 0.3;
        Sweeper sweeper = new Sweeper(STANDARD);
        Score best = sweeper.optimize(List.of(sweeper.sweep(SERIES, WINDOW, scores)));
        assertEquals(0.9, best.threshold());
        assertEquals(1.0 - 0.11, best.score(), 1e-12);
    }

    @Test
    void windowsMustBeTimestampsOfTheSeries() {
        Sweeper sweeper = new Sweeper(STANDARD);
        List<Window> off = List.of(new Window(T0.plusMinutes(40).plusSeconds(30), T0.plusMinutes(49)));
        assertThrows(IllegalArgumentException.class, () -> sweeper.sweep(SERIES, off, new double[100]));
    }
}
