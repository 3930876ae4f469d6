package io.flinkmamba.event;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AnomalyLikelihoodTest {

    @Test
    void halfDuringProbationNanForNoScore() {
        AnomalyLikelihood l = new AnomalyLikelihood(5, 100, 20);
        double[] state = new double[l.stateSize()];
        assertTrue(Double.isNaN(l.update(state, Double.NaN, Double.NaN)));
        assertEquals(0.0, state[0]);
        for (int i = 0; i < 20; i++) {
            assertEquals(0.5, l.update(state, 1 + 0.1 * (i % 3), Double.NaN));
        }
        assertTrue(l.update(state, 1.1, Double.NaN) != 0.5);
    }

    @Test
    void aSustainedRiseInScoresIsLikelyAnomalousAndNoiseIsNot() {
        AnomalyLikelihood l = AnomalyLikelihood.withDefaults();
        double[] state = new double[l.stateSize()];
        SplittableRandom random = new SplittableRandom(1);
        double sum = 0;
        int n = 0;
        double max = 0;
        for (int i = 0; i < 3000; i++) {
            double v = l.update(state, 2 + random.nextDouble(), Double.NaN);
            if (i >= 1000) {
                sum += v;
                n++;
                max = Math.max(max, v);
            }
        }
        double mean = sum / n;
        assertTrue(mean > 0.35 && mean < 0.65, "noise averages near 0.5, got " + mean);
        double spike = 0;
        for (int i = 0; i < 5; i++) {
            spike = l.update(state, 6, Double.NaN);
        }
        assertTrue(spike > 0.9999, "five scores far above the usual: " + spike);
        assertTrue(spike > max, "above every likelihood of plain noise " + max);
    }

    @Test
    void improbabilitiesAreBoundedAndTheirFitHasHtmsVarianceFloor() {
        AnomalyLikelihood l = new AnomalyLikelihood(10, 8640, 300, AnomalyLikelihood.Input.IMPROBABILITY);
        assertEquals(AnomalyLikelihood.Input.IMPROBABILITY, l.input());
        assertEquals(AnomalyLikelihood.Input.SCORE, AnomalyLikelihood.withDefaults().input());
        double[] state = new double[l.stateSize()];
        assertThrows(IllegalArgumentException.class, () -> l.update(state, Double.NaN, 1.5));
        assertThrows(IllegalArgumentException.class, () -> l.update(state, Double.NaN, -0.1));
        assertEquals(0.0, state[0], "a rejected improbability leaves the state alone");
        for (int i = 0; i < 1000; i++) {
            l.update(state, Double.NaN, 0.0);
        }
        // The fitted variance is 0 here; with HTM's floor (sigma 0.017) a small improbability is no anomaly ...
        double small = l.update(state, Double.NaN, 0.05);
        assertTrue(small < 0.7, "one small improbability after perfect predictions: " + small);
        // ... and with the scores' floor (sigma 0.001) it would have been one.
        AnomalyLikelihood scores = new AnomalyLikelihood(10, 8640, 300);
        double[] scoreState = new double[scores.stateSize()];
        for (int i = 0; i < 1000; i++) {
            scores.update(scoreState, 0.0, Double.NaN);
        }
        assertTrue(scores.update(scoreState, 0.05, Double.NaN) > 0.9999);
        double stretch = 0;
        for (int i = 0; i < 10; i++) {
            stretch = l.update(state, Double.NaN, 0.9);
        }
        assertTrue(stretch > 0.9999, "a stretch of surprising events: " + stretch);
    }

    @Test
    void withBothInputsEachHasItsOwnFitAndTheLargerLikelihoodCounts() {
        AnomalyLikelihood both = new AnomalyLikelihood(5, 100, 20, AnomalyLikelihood.Input.SCORE_AND_IMPROBABILITY);
        AnomalyLikelihood scores = new AnomalyLikelihood(5, 100, 20, AnomalyLikelihood.Input.SCORE);
        AnomalyLikelihood improbabilities = new AnomalyLikelihood(5, 100, 20, AnomalyLikelihood.Input.IMPROBABILITY);
        assertEquals(scores.stateSize() + improbabilities.stateSize(), both.stateSize());
        double[] bothState = new double[both.stateSize()];
        double[] scoreState = new double[scores.stateSize()];
        double[] improbabilityState = new double[improbabilities.stateSize()];
        assertTrue(Double.isNaN(both.update(bothState, Double.NaN, Double.NaN)));
        assertTrue(Double.isNaN(both.update(bothState, 1.0, Double.NaN)), "both are needed");
        assertEquals(0.0, bothState[0]);
        SplittableRandom random = new SplittableRandom(2);
        boolean scoreLarger = false;
        boolean improbabilityLarger = false;
        for (int i = 0; i < 400; i++) {
            // A spike in the score (70 nats) with an ordinary improbability, then a stretch of surprising events.
            double score = i == 200 ? 70 : 2 + random.nextDouble();
            double improbability = i >= 300 && i < 310 ? 0.95 : 0.3 * random.nextDouble();
            double a = scores.update(scoreState, score, Double.NaN);
            double b = improbabilities.update(improbabilityState, Double.NaN, improbability);
            assertEquals(Math.max(a, b), both.update(bothState, score, improbability), 0.0);
            scoreLarger |= i == 200 && a > 0.9999 && b < 0.99;
            improbabilityLarger |= i == 309 && b > 0.9999 && a < 0.99;
        }
        assertTrue(scoreLarger, "the spike is the score's");
        assertTrue(improbabilityLarger, "the stretch is the improbability's");
    }

    @Test
    void upperTailMatchesKnownValues() {
        assertEquals(0.5, AnomalyLikelihood.upperTail(0), 1e-7);
        assertEquals(0.158655254, AnomalyLikelihood.upperTail(1), 1e-7);
        assertEquals(0.001349898, AnomalyLikelihood.upperTail(3), 1e-8);
        assertEquals(0.977249868, AnomalyLikelihood.upperTail(-2), 1e-7);
        assertEquals(2.866515719e-7, AnomalyLikelihood.upperTail(5), 1e-12);
    }

    @Test
    void aStateInsideALargerArrayUpdatesLikeItsOwnArray() {
        AnomalyLikelihood likelihood = new AnomalyLikelihood(3, 50, 5, AnomalyLikelihood.Input.SCORE_AND_IMPROBABILITY);
        double[] own = new double[likelihood.stateSize()];
        double[] larger = new double[likelihood.stateSize() + 4];
        SplittableRandom random = new SplittableRandom(5);
        for (int i = 0; i < 40; i++) {
            double score = random.nextGaussian();
            double improbability = random.nextDouble();
            assertEquals(likelihood.update(own, score, improbability), likelihood.update(larger, 2, score, improbability));
        }
        assertEquals(0.0, larger[0]);
        assertEquals(0.0, larger[larger.length - 1]);
        assertThrows(IllegalArgumentException.class, () -> likelihood.update(larger, 5, 1.0, 0.5));
    }
}
