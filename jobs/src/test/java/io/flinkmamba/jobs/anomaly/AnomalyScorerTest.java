package io.flinkmamba.jobs.anomaly;

import org.apache.flink.configuration.Configuration;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AnomalyScorerTest {
    private static final DetectorSettings SETTINGS = DetectorSettings.from(new Configuration());
    private static final AnomalyScorer SCORER = new AnomalyScorer(SETTINGS);
    private static final double YELLOW_SCORE = Math.log(1.0000000001 - 0.999) / Math.log(1e-10);

    @Test
    void logScaleOfTheLikelihoodAndOneForASpatialAnomaly() {
        double[] state = new double[SCORER.stateSize()];
        assertEquals(0.0, SCORER.next(state, Double.NaN, Double.NaN, false));
        assertEquals(0.0, SCORER.next(state, 0.5, Double.NaN, false), 0.04);
        assertEquals(Math.log(1.0000000001 - 0.9) / Math.log(1e-10), SCORER.next(state, 0.9, Double.NaN, false), 1e-12);
        assertEquals(1.0, SCORER.next(state, 0.2, Double.NaN, true));
    }

    @Test
    void aRunOfRedRowsReportsItsFirstAsRedAndTheRowsAfterADetectionAreQuiet() {
        double[] state = new double[SCORER.stateSize()];
        for (int i = 0; i < 5; i++) {
            SCORER.next(state, 0.4, Double.NaN, false);
        }
        double first = SCORER.next(state, 0.999999, Double.NaN, false);
        assertEquals(Math.log(1.0000000001 - 0.999999) / Math.log(1e-10), first, 1e-12);
        assertEquals(YELLOW_SCORE, SCORER.next(state, 0.999999, Double.NaN, false), 1e-12, "HTM's filter");
        SCORER.next(state, 0.3, Double.NaN, false);
        // Red after a row that was not red, and a spatial anomaly: within the quiet period, at most yellow.
        assertEquals(YELLOW_SCORE, SCORER.next(state, 0.9999999, Double.NaN, false), 1e-12);
        assertEquals(YELLOW_SCORE, SCORER.next(state, 0.3, Double.NaN, true), 1e-12);
        assertEquals(0.0, SCORER.next(state, 0.5, Double.NaN, false), 0.04, "lower scores pass unchanged");
        for (int i = 5; i < SETTINGS.quietEvents(); i++) {
            assertEquals(YELLOW_SCORE, SCORER.next(state, 0.3, Double.NaN, true), 1e-12, "row " + i + " after");
        }
        assertEquals(1.0, SCORER.next(state, 0.3, Double.NaN, true), "the quiet period is over");
        assertEquals(YELLOW_SCORE, SCORER.next(state, 0.9999999, Double.NaN, false), 1e-12, "and starts again");
    }

    @Test
    void aQuietPeriodStartsAtRed() {
        double[] state = new double[SCORER.stateSize()];
        SCORER.next(state, 0.99998, Double.NaN, false);
        double next = SCORER.next(state, 0.9999, Double.NaN, false);
        assertEquals(Math.log(1.0000000001 - 0.9999) / Math.log(1e-10), next, 1e-12, "0.99998 is not red");
        SCORER.next(state, 0.99999, Double.NaN, false); // exactly red
        assertEquals(YELLOW_SCORE, SCORER.next(state, 0.3, Double.NaN, true), 1e-12);
    }

    @Test
    void aStretchOfLargeSeasonalResidualsRaisesTheLikelihood() {
        double[] state = new double[SCORER.stateSize()];
        java.util.SplittableRandom random = new java.util.SplittableRandom(5);
        double ordinary = 0;
        for (int i = 0; i < 1000; i++) {
            ordinary = Math.max(ordinary, SCORER.next(state, 0.4, 0.2 * random.nextDouble(), false));
        }
        assertTrue(ordinary < YELLOW_SCORE, "ordinary residuals stay below yellow: " + ordinary);
        double stretch = 0;
        for (int i = 0; i < 15; i++) {
            stretch = Math.max(stretch, SCORER.next(state, 0.4, 3.0, false));
        }
        assertTrue(stretch >= Math.log(1.0000000001 - 0.99999) / Math.log(1e-10), "red: " + stretch);
    }
}
