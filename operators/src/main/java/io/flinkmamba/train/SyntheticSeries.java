package io.flinkmamba.train;

import org.apache.commons.math3.random.RandomDataGenerator;
import org.apache.commons.math3.random.RandomGenerator;
import org.apache.commons.math3.random.Well19937c;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * Synthetic metric series, so that a model can learn what metrics do without seeing any real data:
 * daily and weekly seasons of several shapes, trends, level shifts and variance changes, Poisson counts,
 * flat series with rare steps, random walks and aperiodic series, under Gaussian, heavy-tailed (Student-t,
 * Laplace) or multiplicative noise, sampled every 1 minute to 1 hour, regularly or not. Everything follows
 * from the seed (one {@link Well19937c} per series); nothing is read from any file.
 *
 * <p>Each series has its own units: a scale drawn over five decades, a level a few scales above zero and
 * a signal amplitude about one scale.
 */
public final class SyntheticSeries {
    static final long MINUTE = 60_000L;
    static final long DAY = 1440 * MINUTE;
    static final long WEEK = 7 * DAY;
    /** Monday 2025-01-06 00:00 UTC: days and weeks are counted from it (each series starts up to a week later). */
    static final long EPOCH = 1_736_121_600_000L;
    static final int[] INTERVALS_MINUTES = {1, 2, 5, 10, 15, 30, 60};
    /** Amplitude of the season of the families whose season is optional, relative to the amplitude. */
    static final double SIDE_SEASON = 0.3;

    private SyntheticSeries() {}

    public enum Family {
        /** level + amplitude * daily season + noise */
        DAILY,
        /** as DAILY, the weekend days lower */
        WEEKLY,
        /** a monotonic linear or curved drift of 1 to 5 amplitudes over the series, an optional season, noise */
        TREND,
        /** 1 to 4 shifts of the level by 1.5 to 4 amplitudes (regime changes), an optional season, noise */
        LEVEL_SHIFTS,
        /** 1 to 3 changes of the noise scale by a factor of 2.5 to 5 either way, an optional season */
        VARIANCE_CHANGES,
        /** Poisson counts around a daily (optionally weekly) rate of 0.3 to 300 */
        COUNTS,
        /** a constant with 1 to 3 steps, no noise */
        FLAT_WITH_STEPS,
        /** a random walk (or a nearly one, reverting with 0.98 to 0.999 per step) with an optional drift */
        RANDOM_WALK,
        /** an AR(1) process (coefficient 0.3 to 0.95) around the level: no period */
        APERIODIC
    }

    /** The shape of one day, in [-1, 1]. */
    public enum Shape { SINE, HARMONICS, BUSINESS_HOURS, DAILY_PEAK, SAWTOOTH }

    /** Additive noise of unit variance (Student-t with 3 degrees of freedom, rescaled), or multiplicative. */
    public enum Noise { GAUSSIAN, STUDENT_T, LAPLACE, MULTIPLICATIVE }

    /**
     * How one series is made.
     *
     * @param shape           the daily shape of the season
     * @param seasonal        whether the series has a season (always for DAILY, WEEKLY, COUNTS; never for
     *                        FLAT_WITH_STEPS, RANDOM_WALK, APERIODIC)
     * @param weekend         the weekend days' share of the season's height (1: no weekly season)
     * @param noise           the noise family (null for COUNTS and FLAT_WITH_STEPS, whose values need none)
     * @param noiseLevel      noise standard deviation relative to the amplitude
     * @param intervalMinutes the sampling interval, the median one when irregular
     * @param irregular       whether the intervals vary (each within 1 minute to 1 hour)
     */
    public record Spec(Family family, Shape shape, boolean seasonal, double weekend, Noise noise, double noiseLevel,
                       int intervalMinutes, boolean irregular) {}

    /**
     * One series.
     *
     * @param times   epoch milliseconds, increasing
     * @param changes the indices where a regime starts (level shifts, variance changes, steps), ascending
     */
    public record Series(String name, Spec spec, long[] times, double[] values, int[] changes) {
        public int length() {
            return values.length;
        }
    }

    /** {@code perFamily} series of every family, each {@code length} long, their specs drawn from the seed. */
    public static List<Series> corpus(long seed, int perFamily, int length) {
        SplittableRandom seeds = new SplittableRandom(seed);
        List<Series> out = new ArrayList<>();
        for (int i = 0; i < perFamily; i++) {
            for (Family family : Family.values()) {
                long s = seeds.nextLong();
                String name = family.name().toLowerCase(Locale.ROOT) + "-" + i;
                out.add(generate(name, randomSpec(family, s), s, length));
            }
        }
        return out;
    }

    /** A spec of {@code family} with its shape, season, noise and sampling drawn from the seed. */
    public static Spec randomSpec(Family family, long seed) {
        RandomGenerator rng = new Well19937c(~seed);
        Shape shape = Shape.values()[rng.nextInt(Shape.values().length)];
        boolean seasonal = switch (family) {
            case DAILY, WEEKLY, COUNTS -> true;
            case FLAT_WITH_STEPS, RANDOM_WALK, APERIODIC -> false;
            default -> rng.nextBoolean();
        };
        double weekend = family == Family.WEEKLY || (family == Family.COUNTS && rng.nextBoolean())
                ? uniform(rng, 0.2, 0.7) : 1;
        Noise noise = family == Family.COUNTS || family == Family.FLAT_WITH_STEPS ? null
                : Noise.values()[rng.nextInt(Noise.values().length)];
        double noiseLevel = Math.exp(uniform(rng, Math.log(0.05), Math.log(0.5)));
        int interval = INTERVALS_MINUTES[rng.nextInt(INTERVALS_MINUTES.length)];
        return new Spec(family, shape, seasonal, weekend, noise, noiseLevel, interval, rng.nextDouble() < 0.3);
    }

    /** The series of {@code spec}, {@code length} values, its units, phase and regimes drawn from the seed. */
    public static Series generate(String name, Spec spec, long seed, int length) {
        RandomGenerator rng = new Well19937c(seed);
        RandomDataGenerator draw = new RandomDataGenerator(rng);
        long[] times = times(spec, rng, length);
        double scale = Math.pow(10, uniform(rng, -1, 4));
        double level = scale * uniform(rng, 2, 6);
        double amplitude = scale * uniform(rng, 0.5, 1.5);
        Season season = new Season(spec, rng);
        Noisy noisy = new Noisy(spec.noise(), level, rng);
        double sigma = spec.noiseLevel() * amplitude;
        double side = spec.seasonal() ? SIDE_SEASON * amplitude : 0;
        double[] v = new double[length];
        int[] changes = new int[0];
        switch (spec.family()) {
            case DAILY, WEEKLY -> {
                for (int t = 0; t < length; t++) {
                    v[t] = noisy.add(level + amplitude * season.at(times[t]), sigma);
                }
            }
            case TREND -> {
                double drift = sign(rng) * uniform(rng, 1, 5) * amplitude;
                double curve = rng.nextBoolean() ? Math.copySign(uniform(rng, 0, 1), drift) * amplitude : 0;
                for (int t = 0; t < length; t++) {
                    double x = (double) t / length;
                    v[t] = noisy.add(level + drift * x + curve * x * x + side * season.at(times[t]), sigma);
                }
            }
            case LEVEL_SHIFTS -> {
                changes = changePoints(rng, length, 1 + rng.nextInt(4));
                double shifted = level;
                for (int t = 0, c = 0; t < length; t++) {
                    if (c < changes.length && changes[c] == t) {
                        shifted += sign(rng) * uniform(rng, 1.5, 4) * amplitude;
                        c++;
                    }
                    v[t] = noisy.add(shifted + side * season.at(times[t]), sigma);
                }
            }
            case VARIANCE_CHANGES -> {
                changes = changePoints(rng, length, 1 + rng.nextInt(3));
                double regime = sigma;
                for (int t = 0, c = 0; t < length; t++) {
                    if (c < changes.length && changes[c] == t) {
                        double factor = uniform(rng, 2.5, 5);
                        regime = rng.nextBoolean() ? regime * factor : regime / factor;
                        c++;
                    }
                    v[t] = noisy.add(level + side * season.at(times[t]), regime);
                }
            }
            case COUNTS -> {
                double base = Math.pow(10, uniform(rng, -0.5, 2.5));
                double depth = uniform(rng, 0.3, 0.9);
                for (int t = 0; t < length; t++) {
                    v[t] = draw.nextPoisson(base * (1 + depth * season.at(times[t])));
                }
            }
            case FLAT_WITH_STEPS -> {
                changes = changePoints(rng, length, 1 + rng.nextInt(3));
                double flat = level;
                for (int t = 0, c = 0; t < length; t++) {
                    if (c < changes.length && changes[c] == t) {
                        flat += sign(rng) * uniform(rng, 0.5, 2) * amplitude;
                        c++;
                    }
                    v[t] = flat;
                }
            }
            case RANDOM_WALK -> {
                double reversion = rng.nextBoolean() ? 1 : uniform(rng, 0.98, 0.999);
                double drift = rng.nextBoolean() ? sign(rng) * uniform(rng, 0, 0.05) * sigma : 0;
                double x = level;
                for (int t = 0; t < length; t++) {
                    x = noisy.add(level + reversion * (x - level) + drift, sigma);
                    v[t] = x;
                }
            }
            case APERIODIC -> {
                double phi = uniform(rng, 0.3, 0.95);
                double innovation = amplitude * Math.sqrt(1 - phi * phi);
                double x = level;
                for (int t = 0; t < length; t++) {
                    x = noisy.add(level + phi * (x - level), innovation);
                    v[t] = x;
                }
            }
        }
        return new Series(name, spec, times, v, changes);
    }

    /** Sampling times: the interval, or around it (log-normal, sometimes a longer gap), within 1 min to 1 h. */
    private static long[] times(Spec spec, RandomGenerator rng, int length) {
        long[] times = new long[length];
        long interval = spec.intervalMinutes() * MINUTE;
        long t = EPOCH + rng.nextInt(7) * DAY + rng.nextInt(1440) * MINUTE;
        for (int i = 0; i < length; i++) {
            times[i] = t;
            long gap = interval;
            if (spec.irregular()) {
                double g = rng.nextDouble() < 0.01 ? uniform(rng, interval, 60 * MINUTE)
                        : interval * Math.exp(0.4 * rng.nextGaussian());
                gap = Math.round(Math.max(MINUTE, Math.min(60 * MINUTE, g)) / 1000) * 1000;
            }
            t += gap;
        }
        return times;
    }

    /** {@code count} distinct indices in [10%, 90%) of the series, at least 5% of it apart where possible. */
    private static int[] changePoints(RandomGenerator rng, int length, int count) {
        int low = length / 10;
        int span = Math.max(1, length * 8 / 10);
        int gap = Math.max(1, length / 20);
        TreeSet<Integer> points = new TreeSet<>();
        for (int tries = 0; points.size() < count && tries < 100; tries++) {
            int p = low + rng.nextInt(span);
            Integer below = points.floor(p);
            Integer above = points.ceiling(p);
            if ((below == null || p - below >= gap) && (above == null || above - p >= gap)) {
                points.add(p);
            }
        }
        return points.stream().mapToInt(Integer::intValue).toArray();
    }

    static double uniform(RandomGenerator rng, double low, double high) {
        return low + (high - low) * rng.nextDouble();
    }

    private static double sign(RandomGenerator rng) {
        return rng.nextBoolean() ? 1 : -1;
    }

    /** A daily shape at a random phase, times a lower height on weekends; in [-1, 1]. */
    private static final class Season {
        private final Shape shape;
        private final double phase;
        private final double weekend;
        private final double[] harmonics;

        Season(Spec spec, RandomGenerator rng) {
            this.shape = spec.shape();
            this.phase = rng.nextDouble();
            this.weekend = spec.weekend();
            this.harmonics = new double[] {uniform(rng, -0.6, 0.6), uniform(rng, 0, 2 * Math.PI),
                    uniform(rng, -0.4, 0.4), uniform(rng, 0, 2 * Math.PI)};
        }

        double at(long time) {
            double p = (double) Math.floorMod(time - EPOCH, DAY) / DAY + phase;
            p -= Math.floor(p);
            double daily = switch (shape) {
                case SINE -> Math.sin(2 * Math.PI * p);
                case HARMONICS -> (Math.sin(2 * Math.PI * p) + harmonics[0] * Math.sin(4 * Math.PI * p + harmonics[1])
                        + harmonics[2] * Math.sin(6 * Math.PI * p + harmonics[3]))
                        / (1 + Math.abs(harmonics[0]) + Math.abs(harmonics[2]));
                case BUSINESS_HOURS -> 2 * (logistic((24 * p - 8) / 0.4) - logistic((24 * p - 18) / 0.4)) - 1;
                case DAILY_PEAK -> 2 * Math.exp(4 * (Math.cos(2 * Math.PI * p) - 1)) - 1;
                case SAWTOOTH -> 2 * p - 1;
            };
            long dayOfWeek = Math.floorMod(time - EPOCH, WEEK) / DAY; // 0 Monday
            return dayOfWeek >= 5 ? (daily + 1) * weekend - 1 : daily;
        }

        private static double logistic(double x) {
            return 1 / (1 + Math.exp(-x));
        }
    }

    /** Adds noise of a family to a signal. */
    static final class Noisy {
        private static final int T_DEGREES = 3;
        private final Noise noise;
        private final double level;
        private final RandomDataGenerator draw;

        Noisy(Noise noise, double level, RandomGenerator rng) {
            this.noise = noise;
            this.level = level;
            this.draw = new RandomDataGenerator(rng);
        }

        /** signal + sigma * unit noise, or for multiplicative noise signal * (1 + sigma / level * N(0, 1)). */
        double add(double signal, double sigma) {
            return noise == Noise.MULTIPLICATIVE ? signal * (1 + sigma / level * draw.nextGaussian(0, 1))
                    : signal + sigma * unit();
        }

        /** One draw of the additive noise, variance 1. */
        double unit() {
            return switch (noise) {
                case GAUSSIAN, MULTIPLICATIVE -> draw.nextGaussian(0, 1);
                // N(0, 1) / sqrt(chi-square(k) / k), divided by its standard deviation sqrt(k / (k - 2))
                case STUDENT_T -> draw.nextGaussian(0, 1) / Math.sqrt(draw.nextGamma(T_DEGREES / 2.0, 2) / T_DEGREES)
                        / Math.sqrt(T_DEGREES / (T_DEGREES - 2.0));
                // the difference of two unit exponentials: Laplace with scale 1, variance 2
                case LAPLACE -> (draw.nextExponential(1) - draw.nextExponential(1)) / Math.sqrt(2);
            };
        }
    }
}
