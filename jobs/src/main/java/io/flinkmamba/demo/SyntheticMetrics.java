package io.flinkmamba.demo;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The demo's metric stream: per key (a host) two metrics driven by one seasonal load (a sine of the key's own
 * period, amplitude and phase): {@code cpu} around the key's level with AR(1) noise of standard deviation
 * {@link #NOISE_STD}, and {@code load}, a smoother aggregate (half that noise); one event a minute. Labelled anomalies are injected into {@code cpu} after the clean
 * prefix the model trains on: spikes, level shifts, drifts and stuck values (the cpu sensor repeats its last
 * value while the load goes on).
 */
public final class SyntheticMetrics {
    /** Event spacing of every key. */
    public static final long INTERVAL_MILLIS = 60_000L;
    /** Standard deviation of each metric's AR(1) noise (coefficient 0.5). */
    public static final double NOISE_STD = 0.5;
    private static final double NOISE_INNOVATION = NOISE_STD * Math.sqrt(0.75);

    /** The kinds of injected anomalies. */
    public enum Kind { SPIKE, LEVEL_SHIFT, DRIFT, STUCK;
        public String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', ' ');
        }
    }

    /** An injected anomaly of a key: events [start, end) are changed. */
    public record Anomaly(String key, Kind kind, int start, int end) {}

    /** One key's series (cpu and load per event) and the anomalies injected into cpu. */
    public record Series(String key, double[] values, double[] load, List<Anomaly> anomalies) {}

    private SyntheticMetrics() {}

    /**
     * {@code keys} series of {@code eventsPerKey} events each; anomalies only after {@code cleanPrefix} events, one
     * about every {@code spacing} events, kinds in turn from a seeded start.
     */
    public static List<Series> generate(int keys, int eventsPerKey, int cleanPrefix, int spacing, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Series> all = new ArrayList<>();
        for (int k = 0; k < keys; k++) {
            String key = String.format(Locale.ROOT, "host-%02d", k);
            double level = 40 + 20 * random.nextDouble();
            double amplitude = 5 + 5 * random.nextDouble();
            double period = 20 + 30 * random.nextDouble();
            double phase = 2 * Math.PI * random.nextDouble();
            double loadLevel = 10 + 10 * random.nextDouble();
            double[] values = new double[eventsPerKey];
            double[] load = new double[eventsPerKey];
            double noise = 0;
            double loadNoise = 0;
            for (int t = 0; t < eventsPerKey; t++) {
                double season = Math.sin(2 * Math.PI * t / period + phase);
                noise = 0.5 * noise + NOISE_INNOVATION * gaussian(random);
                loadNoise = 0.5 * loadNoise + 0.5 * NOISE_INNOVATION * gaussian(random);
                values[t] = level + amplitude * season + noise;
                load[t] = loadLevel + amplitude * season + loadNoise;
            }
            List<Anomaly> anomalies = new ArrayList<>();
            int kind = random.nextInt(Kind.values().length);
            for (int start = cleanPrefix + random.nextInt(spacing / 2); start + spacing / 2 < eventsPerKey;
                 start += spacing / 2 + random.nextInt(spacing)) {
                Kind k2 = Kind.values()[kind++ % Kind.values().length];
                anomalies.add(inject(key, k2, values, start, random));
            }
            all.add(new Series(key, values, load, anomalies));
        }
        return all;
    }

    /** Changes the series in place; returns the anomaly with the events it changed. */
    private static Anomaly inject(String key, Kind kind, double[] values, int start, SplittableRandom random) {
        double sign = random.nextBoolean() ? 1 : -1;
        switch (kind) {
            case SPIKE -> {
                values[start] += sign * (8 + 4 * random.nextDouble());
                return new Anomaly(key, kind, start, start + 1);
            }
            case LEVEL_SHIFT -> {
                int end = Math.min(values.length, start + 60);
                double shift = sign * (8 + 4 * random.nextDouble());
                for (int t = start; t < end; t++) {
                    values[t] += shift;
                }
                return new Anomaly(key, kind, start, end);
            }
            case DRIFT -> {
                int end = Math.min(values.length, start + 60);
                double slope = sign * (0.25 + 0.1 * random.nextDouble());
                for (int t = start; t < end; t++) {
                    values[t] += slope * (t - start + 1);
                }
                return new Anomaly(key, kind, start, end);
            }
            default -> {
                int end = Math.min(values.length, start + 60);
                for (int t = start; t < end; t++) {
                    values[t] = values[start - 1];
                }
                return new Anomaly(key, kind, start, end);
            }
        }
    }

    private static double gaussian(SplittableRandom random) {
        double u1 = random.nextDouble();
        double u2 = random.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    }
}
