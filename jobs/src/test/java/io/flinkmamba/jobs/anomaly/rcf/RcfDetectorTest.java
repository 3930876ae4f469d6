package io.flinkmamba.jobs.anomaly.rcf;

import com.amazon.randomcutforest.RandomCutForest;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.util.Arrays;
import java.util.Date;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RcfDetectorTest {
    static final int PERIOD = 48;

    /** A daily-like sine of period 48 with Gaussian noise (sd 0.1), a spike of +4 at {@code spikeAt}. */
    static double[] seasonal(int rows, int spikeAt, long seed) {
        Random random = new Random(seed);
        double[] values = new double[rows];
        for (int i = 0; i < rows; i++) {
            values[i] = Math.sin(2 * Math.PI * i / PERIOD) + 0.1 * random.nextGaussian() + (i == spikeAt ? 4 : 0);
        }
        return values;
    }

    static double[] scoreAll(RcfDetector detector, RandomCutForest forest, double[] values, int from, int to) {
        double[] scores = new double[to - from];
        for (int i = from; i < to; i++) {
            scores[i - from] = detector.score(forest, new double[] {values[i]});
        }
        return scores;
    }

    @Test
    void aSpikeAfterASeasonalWarmUpScoresAboveTheThresholdAndTheNormalRowsBelowIt() {
        RcfDetector detector = new RcfDetector(RcfSettings.defaults(), 1);
        int spikeAt = 1500;
        double[] values = seasonal(1700, spikeAt, 3);
        double[] scores = scoreAll(detector, detector.newForest("cpu"), values, 0, values.length);
        double threshold = detector.settings().threshold();

        int warmUp = 4 * PERIOD;
        double[] normal = new double[values.length - warmUp - 1];
        for (int i = warmUp, n = 0; i < values.length; i++) {
            if (i != spikeAt) {
                normal[n++] = scores[i];
            }
        }
        Arrays.sort(normal);
        double highestNormal = normal[normal.length - 1];
        double medianNormal = normal[normal.length / 2];
        assertTrue(scores[spikeAt] >= threshold, "spike " + scores[spikeAt]);
        assertTrue(highestNormal < threshold, "highest normal row " + highestNormal);
        // Not vacuous: the forest scores the normal rows (none at 0), the spike well clear of them all.
        assertTrue(medianNormal > 0.05, "median normal row " + medianNormal);
        assertTrue(scores[spikeAt] > 1.5 * highestNormal, "spike " + scores[spikeAt] + " vs " + highestNormal);
    }

    @Test
    void scoresAreZeroUntilOutputAfterEvents() {
        RcfSettings settings = RcfSettings.of(20, 64, 1, 1e-3, 5, 0.5);
        RcfDetector detector = new RcfDetector(settings, 1);
        double[] scores = scoreAll(detector, detector.newForest("k"), seasonal(40, -1, 1), 0, 40);
        for (int i = 0; i < settings.outputAfter(); i++) {
            assertEquals(0.0, scores[i], "row " + i);
        }
        assertTrue(scores[settings.outputAfter()] > 0, "first scored row " + scores[settings.outputAfter()]);
    }

    @Test
    void twoRunsOverTheSameSeriesGiveIdenticalScoresAndAnotherKeyOthers() {
        double[] values = seasonal(800, 600, 5);
        RcfDetector first = new RcfDetector(RcfSettings.defaults(), 1);
        RcfDetector second = new RcfDetector(RcfSettings.defaults(), 1);
        double[] a = scoreAll(first, first.newForest("host-1"), values, 0, values.length);
        double[] b = scoreAll(second, second.newForest("host-1"), values, 0, values.length);
        double[] otherKey = scoreAll(second, second.newForest("host-2"), values, 0, values.length);
        assertArrayEquals(a, b, 0.0);
        assertFalse(Arrays.equals(a, otherKey), "each key's forest has its own seed");
    }

    @Test
    void aForestRestoredFromBytesMidSeriesScoresExactlyAsTheUninterruptedOne() {
        RcfDetector detector = new RcfDetector(RcfSettings.defaults(), 1);
        double[] values = seasonal(1200, 1000, 7);
        int k = 517;
        double[] uninterrupted = scoreAll(detector, detector.newForest("k"), values, 0, values.length);

        RandomCutForest forest = detector.newForest("k");
        scoreAll(detector, forest, values, 0, k);
        RandomCutForest restored = RcfDetector.fromBytes(RcfDetector.toBytes(forest));
        double[] after = scoreAll(detector, restored, values, k, values.length);
        assertArrayEquals(Arrays.copyOfRange(uninterrupted, k, values.length), after, 0.0);
    }

    /** Two fields, shingles of 4: the forest's internal shingle travels in the bytes too. */
    @Test
    void aShingledMultiFieldForestRoundTripsExactly() {
        RcfDetector detector = new RcfDetector(RcfSettings.of(30, 128, 4, 1e-4, 9, 0.5), 2);
        double[] x = seasonal(600, 450, 11);
        double[] y = seasonal(600, -1, 12);
        int k = 333;
        RandomCutForest uninterrupted = detector.newForest("k");
        RandomCutForest interrupted = detector.newForest("k");
        for (int i = 0; i < x.length; i++) {
            if (i == k) {
                interrupted = RcfDetector.fromBytes(RcfDetector.toBytes(interrupted));
            }
            double[] point = {x[i], y[i]};
            assertEquals(detector.score(uninterrupted, point), detector.score(interrupted, point.clone()), 0.0,
                    "row " + i);
        }
        assertEquals(8, uninterrupted.getDimensions());
    }

    @Test
    void rejectedValuesGiveOneLineMessagesAndLeaveTheForestUntouched() {
        RcfDetector detector = new RcfDetector(RcfSettings.of(20, 64, 1, 1e-3, 1, 0.5), 2);
        double[] values = seasonal(100, -1, 2);
        RandomCutForest plain = detector.newForest("k");
        RandomCutForest withRejects = detector.newForest("k");
        for (int i = 0; i < values.length; i++) {
            if (i == 50) {
                IllegalArgumentException count = assertThrows(IllegalArgumentException.class,
                        () -> detector.score(withRejects, new double[] {1}));
                assertEquals("the rcf detector expects 2 numeric values per event, got 1", count.getMessage());
                IllegalArgumentException nan = assertThrows(IllegalArgumentException.class,
                        () -> detector.score(withRejects, new double[] {1, Double.NaN}));
                assertEquals("numeric value 1 is NaN; the rcf detector scores finite numbers only", nan.getMessage());
            }
            double[] point = {values[i], -values[i]};
            assertEquals(detector.score(plain, point), detector.score(withRejects, point), 0.0, "row " + i);
        }
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                () -> new RcfDetector(RcfSettings.defaults(), 0));
        assertEquals("the rcf detector needs at least one numeric field, got 0", none.getMessage());
    }

    static byte[] serialized(Serializable object) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(object);
        }
        return bytes.toByteArray();
    }

    @Test
    void bytesThatAreNoForestStateAreRefusedWithOneLineMessages() throws IOException {
        IllegalArgumentException otherClass = assertThrows(IllegalArgumentException.class,
                () -> RcfDetector.fromBytes(serialized(new Date(0))));
        assertEquals("not a random cut forest's state: filter status: REJECTED", otherClass.getMessage());
        IllegalArgumentException string = assertThrows(IllegalArgumentException.class,
                () -> RcfDetector.fromBytes(serialized("forest")));
        assertTrue(string.getMessage().startsWith("not a random cut forest's state: class java.lang.String"),
                string.getMessage());
        IllegalArgumentException garbage = assertThrows(IllegalArgumentException.class,
                () -> RcfDetector.fromBytes(new byte[] {1, 2, 3, 4}));
        assertTrue(garbage.getMessage().startsWith("unreadable random cut forest state: "), garbage.getMessage());
    }
}
