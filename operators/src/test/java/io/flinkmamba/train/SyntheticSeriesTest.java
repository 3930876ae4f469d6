package io.flinkmamba.train;

import io.flinkmamba.train.SyntheticSeries.Family;
import io.flinkmamba.train.SyntheticSeries.Noise;
import io.flinkmamba.train.SyntheticSeries.Noisy;
import io.flinkmamba.train.SyntheticSeries.Series;
import io.flinkmamba.train.SyntheticSeries.Shape;
import io.flinkmamba.train.SyntheticSeries.Spec;
import org.apache.commons.math3.random.Well19937c;
import org.apache.commons.math3.stat.descriptive.DescriptiveStatistics;
import org.apache.commons.math3.stat.descriptive.rank.Median;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SyntheticSeriesTest {

    private static Spec spec(Family family, Shape shape, boolean seasonal, double weekend, Noise noise,
                             int intervalMinutes) {
        return new Spec(family, shape, seasonal, weekend, noise, 0.3, intervalMinutes, false);
    }

    /** Sample autocorrelation at {@code lag}. */
    static double autocorrelation(double[] x, int lag) {
        double mean = Arrays.stream(x).average().orElseThrow();
        double num = 0;
        double den = 0;
        for (int t = 0; t < x.length; t++) {
            den += (x[t] - mean) * (x[t] - mean);
            if (t + lag < x.length) {
                num += (x[t] - mean) * (x[t + lag] - mean);
            }
        }
        return num / den;
    }

    private static double[] differences(double[] x, int from, int to) {
        double[] d = new double[to - from - 1];
        for (int t = from; t < to - 1; t++) {
            d[t - from] = x[t + 1] - x[t];
        }
        return d;
    }

    /** A robust noise scale: the median absolute first difference, as a Gaussian's standard deviation. */
    private static double noiseScale(double[] x, int from, int to) {
        double[] d = differences(x, from, to);
        for (int i = 0; i < d.length; i++) {
            d[i] = Math.abs(d[i]);
        }
        return new Median().evaluate(d) / (0.6745 * Math.sqrt(2));
    }

    private static double median(double[] x, int from, int to) {
        return new Median().evaluate(Arrays.copyOfRange(x, from, to));
    }

    @Test
    void theSameSeedGivesTheSameSeriesAndAnotherSeedOthers() {
        List<Series> a = SyntheticSeries.corpus(5, 2, 300);
        List<Series> b = SyntheticSeries.corpus(5, 2, 300);
        List<Series> c = SyntheticSeries.corpus(6, 2, 300);
        assertEquals(2 * Family.values().length, a.size());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).name(), b.get(i).name());
            assertEquals(a.get(i).spec(), b.get(i).spec());
            assertArrayEquals(a.get(i).times(), b.get(i).times());
            assertArrayEquals(a.get(i).values(), b.get(i).values());
            assertArrayEquals(a.get(i).changes(), b.get(i).changes());
            assertFalse(Arrays.equals(a.get(i).values(), c.get(i).values()), a.get(i).name());
        }
    }

    @Test
    void dailySeasonsRepeatAtTheDailyLagUnderEveryNoise() {
        for (Shape shape : Shape.values()) {
            for (Noise noise : Noise.values()) {
                Series s = SyntheticSeries.generate("d", spec(Family.DAILY, shape, true, 1, noise, 15), 3, 96 * 14);
                double daily = autocorrelation(s.values(), 96);
                assertTrue(daily > 0.6, shape + " " + noise + ": autocorrelation at a day " + daily);
            }
        }
    }

    @Test
    void weeklySeasonsRepeatAtTheWeekAndAreLowerOnWeekends() {
        for (Shape shape : Shape.values()) {
            Series s = SyntheticSeries.generate("w", spec(Family.WEEKLY, shape, true, 0.3, Noise.GAUSSIAN, 30), 4,
                    48 * 7 * 6);
            double weekly = autocorrelation(s.values(), 48 * 7);
            DescriptiveStatistics weekdays = new DescriptiveStatistics();
            DescriptiveStatistics weekends = new DescriptiveStatistics();
            for (int t = 0; t < s.length(); t++) {
                long day = Math.floorMod(s.times()[t] - SyntheticSeries.EPOCH, SyntheticSeries.WEEK) / SyntheticSeries.DAY;
                (day >= 5 ? weekends : weekdays).addValue(s.values()[t]);
            }
            double lower = (weekdays.getMean() - weekends.getMean()) / new DescriptiveStatistics(s.values())
                    .getStandardDeviation();
            assertTrue(weekly > 0.6 && lower > 0.3, shape + ": a week " + weekly + ", weekends lower by " + lower);
        }
    }

    @Test
    void aperiodicSeriesCorrelateOnlyNearby() {
        for (long seed = 0; seed < 10; seed++) {
            Series s = SyntheticSeries.generate("a", SyntheticSeries.randomSpec(Family.APERIODIC, seed), seed, 4000);
            int day = (int) (SyntheticSeries.DAY / (s.spec().intervalMinutes() * SyntheticSeries.MINUTE));
            assertTrue(autocorrelation(s.values(), 1) > 0.2, "lag 1 of seed " + seed);
            assertTrue(Math.abs(autocorrelation(s.values(), Math.min(day, 1000))) < 0.2, "a day of seed " + seed);
        }
    }

    @Test
    void trendsMoveTheMeanFromTheFirstQuarterToTheLast() {
        for (long seed = 0; seed < 10; seed++) {
            Series s = SyntheticSeries.generate("t", SyntheticSeries.randomSpec(Family.TREND, seed), seed, 4000);
            double[] v = s.values();
            double first = Arrays.stream(v, 0, 1000).average().orElseThrow();
            double last = Arrays.stream(v, 3000, 4000).average().orElseThrow();
            assertTrue(Math.abs(last - first) > 1.5 * noiseScale(v, 0, 4000), "seed " + seed + " " + s.spec());
        }
    }

    @Test
    void levelShiftsMoveTheLevelAtEachChange() {
        for (long seed = 0; seed < 10; seed++) {
            Series s = SyntheticSeries.generate("l", SyntheticSeries.randomSpec(Family.LEVEL_SHIFTS, seed), seed, 4000);
            double[] v = s.values();
            assertTrue(s.changes().length >= 1, "seed " + seed);
            for (int c : s.changes()) {
                double jump = Math.abs(median(v, c, c + 50) - median(v, c - 50, c));
                assertTrue(jump > 3 * noiseScale(v, c - 50, c), "seed " + seed + " at " + c + ": " + jump);
            }
        }
    }

    @Test
    void varianceChangesScaleTheNoiseAtEachChange() {
        for (long seed = 0; seed < 10; seed++) {
            Spec spec = new Spec(Family.VARIANCE_CHANGES, Shape.SINE, seed % 2 == 0, 1,
                    Noise.values()[(int) (seed % Noise.values().length)], 0.3, 5, false);
            Series s = SyntheticSeries.generate("v", spec, seed, 4000);
            double[] v = s.values();
            for (int c : s.changes()) {
                double ratio = noiseScale(v, c, c + 150) / noiseScale(v, c - 150, c);
                assertTrue(ratio > 1.8 || ratio < 1 / 1.8, "seed " + seed + " at " + c + ": " + ratio);
            }
        }
    }

    @Test
    void countsAreNonNegativeIntegers() {
        for (long seed = 0; seed < 20; seed++) {
            Series s = SyntheticSeries.generate("c", SyntheticSeries.randomSpec(Family.COUNTS, seed), seed, 2000);
            Set<Double> distinct = new HashSet<>();
            for (double x : s.values()) {
                assertTrue(x >= 0 && x == Math.rint(x), "seed " + seed + ": " + x);
                distinct.add(x);
            }
            assertTrue(distinct.size() >= 2, "seed " + seed);
        }
        Series busy = SyntheticSeries.generate("c", spec(Family.COUNTS, Shape.SINE, true, 1, null, 10), 1, 144 * 10);
        assertTrue(autocorrelation(busy.values(), 144) > 0.3, "a day: " + autocorrelation(busy.values(), 144));
    }

    @Test
    void flatSeriesChangeOnlyAtTheirSteps() {
        for (long seed = 0; seed < 10; seed++) {
            Series s = SyntheticSeries.generate("f", SyntheticSeries.randomSpec(Family.FLAT_WITH_STEPS, seed), seed,
                    1000);
            double[] v = s.values();
            int[] bounds = new int[s.changes().length + 2];
            System.arraycopy(s.changes(), 0, bounds, 1, s.changes().length);
            bounds[bounds.length - 1] = v.length;
            assertTrue(s.changes().length >= 1);
            for (int k = 0; k + 1 < bounds.length; k++) {
                for (int t = bounds[k]; t < bounds[k + 1]; t++) {
                    assertEquals(v[bounds[k]], v[t], 0.0, "seed " + seed + " index " + t);
                }
                if (k > 0) {
                    assertTrue(v[bounds[k]] != v[bounds[k] - 1], "a step at " + bounds[k]);
                }
            }
        }
    }

    @Test
    void randomWalksWanderFarBeyondTheirSteps() {
        for (long seed = 0; seed < 10; seed++) {
            Series s = SyntheticSeries.generate("r", SyntheticSeries.randomSpec(Family.RANDOM_WALK, seed), seed, 4000);
            double[] v = s.values();
            double spread = new DescriptiveStatistics(v).getStandardDeviation();
            double step = new DescriptiveStatistics(differences(v, 0, v.length)).getStandardDeviation();
            assertTrue(autocorrelation(v, 1) > 0.95 && step < 0.3 * spread, "seed " + seed + ": step " + step
                    + ", spread " + spread);
        }
    }

    @Test
    void samplingIntervalsStayBetweenAMinuteAndAnHour() {
        int irregular = 0;
        for (Series s : SyntheticSeries.corpus(3, 6, 500)) {
            Set<Long> gaps = new HashSet<>();
            for (int t = 1; t < s.length(); t++) {
                long gap = s.times()[t] - s.times()[t - 1];
                assertTrue(gap >= SyntheticSeries.MINUTE && gap <= 60 * SyntheticSeries.MINUTE, s.name() + ": " + gap);
                gaps.add(gap);
            }
            if (s.spec().irregular()) {
                irregular++;
                assertTrue(gaps.size() > 10, s.name() + ": " + gaps.size() + " distinct gaps");
            } else {
                assertEquals(Set.of(s.spec().intervalMinutes() * SyntheticSeries.MINUTE), gaps, s.name());
            }
        }
        assertTrue(irregular > 0, "some series are sampled irregularly");
    }

    @Test
    void noiseFamiliesHaveUnitScaleAndTheirTails() {
        int n = 400_000;
        DescriptiveStatistics gaussian = draws(Noise.GAUSSIAN, n);
        DescriptiveStatistics laplace = draws(Noise.LAPLACE, n);
        DescriptiveStatistics studentT = draws(Noise.STUDENT_T, n);
        assertEquals(1, gaussian.getVariance(), 0.02);
        assertEquals(3, gaussian.getKurtosis() + 3, 0.1);
        assertEquals(1, laplace.getVariance(), 0.03);
        assertEquals(6, laplace.getKurtosis() + 3, 0.5);
        // Student-t, 3 degrees of freedom, scaled by 1/sqrt(3): median |x| = 0.7649 / sqrt(3); no fourth moment
        assertEquals(0.7649 / Math.sqrt(3), median(Arrays.stream(studentT.getValues()).map(Math::abs).toArray(), 0, n),
                0.01);
        assertTrue(studentT.getKurtosis() > 10, "kurtosis " + studentT.getKurtosis());

        Noisy multiplicative = new Noisy(Noise.MULTIPLICATIVE, 10, new Well19937c(1));
        DescriptiveStatistics atLevel = new DescriptiveStatistics();
        DescriptiveStatistics atThrice = new DescriptiveStatistics();
        for (int i = 0; i < 100_000; i++) {
            atLevel.addValue(multiplicative.add(10, 1) - 10);
            atThrice.addValue(multiplicative.add(30, 1) - 30);
        }
        assertEquals(1, atLevel.getStandardDeviation(), 0.02);
        assertEquals(3, atThrice.getStandardDeviation(), 0.06);
    }

    private static DescriptiveStatistics draws(Noise noise, int n) {
        Noisy noisy = new Noisy(noise, 1, new Well19937c(7));
        DescriptiveStatistics stats = new DescriptiveStatistics(n);
        for (int i = 0; i < n; i++) {
            stats.addValue(noisy.unit());
        }
        return stats;
    }
}
