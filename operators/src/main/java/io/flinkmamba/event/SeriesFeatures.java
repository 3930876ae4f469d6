package io.flinkmamba.event;

/**
 * What the anomaly detector derives from a series' past before the model sees a value, so that one model can
 * serve series of any scale: the value standardized by the mean and standard deviation of the values
 * before it (Welford's running moments), clipped to +-{@value #CLIP} (a spike beyond that is still far
 * off any prediction, and the Gaussian training is not dominated by a few huge spikes); and HTM's spatial
 * anomaly (the numenta NAB detector's): the value lies more than {@value #SPATIAL_TOLERANCE} of the range
 * seen so far beyond that range. Both use the series' past and present only.
 *
 * <p>The state is a plain {@code double[STATE_SIZE]}: values seen, mean, sum of squared deviations, min, max.
 */
public final class SeriesFeatures {
    public static final int STATE_SIZE = 5;
    public static final double CLIP = 5;
    public static final double SPATIAL_TOLERANCE = 0.05;
    /** Standard deviations below this share of the mean's magnitude (or 1e-9) count as a flat series. */
    static final double MIN_RELATIVE_STD = 1e-6;

    private SeriesFeatures() {}

    /** One value's features; {@code scale} is the standard deviation that standardized it (NaN before two values). */
    public record Step(float normalized, boolean spatialAnomaly, double scale) {}

    public static double[] newState() {
        return new double[STATE_SIZE];
    }

    /**
     * The features of {@code value} given the state (the series so far) in {@code state[0, STATE_SIZE)}; then
     * takes the value into it. The spatial tolerance is {@value #SPATIAL_TOLERANCE}.
     */
    public static Step next(double[] state, double value) {
        return next(state, 0, value, SPATIAL_TOLERANCE);
    }

    /**
     * {@link #next(double[], double)} on the state in {@code state[offset, offset + STATE_SIZE)}, a value beyond
     * the range so far by more than {@code spatialTolerance} of the range being a spatial anomaly (0: never).
     */
    public static Step next(double[] state, int offset, double value, double spatialTolerance) {
        double n = state[offset];
        double mean = state[offset + 1];
        double min = state[offset + 3];
        double max = state[offset + 4];
        double normalized = 0;
        double std = std(state, offset);
        boolean spatial = false;
        if (n >= 2) {
            normalized = Math.max(-CLIP, Math.min(CLIP, (value - mean) / std));
        }
        if (n >= 1 && max > min && spatialTolerance > 0) {
            double tolerance = (max - min) * spatialTolerance;
            spatial = value > max + tolerance || value < min - tolerance;
        }
        n++;
        double delta = value - mean;
        mean += delta / n;
        state[offset] = n;
        state[offset + 1] = mean;
        state[offset + 2] += delta * (value - mean);
        state[offset + 3] = n == 1 ? value : Math.min(min, value);
        state[offset + 4] = n == 1 ? value : Math.max(max, value);
        return new Step((float) normalized, spatial, std);
    }

    /** The running mean of the values in the state at {@code offset}. */
    public static double mean(double[] state, int offset) {
        return state[offset + 1];
    }

    /**
     * The standard deviation that standardizes the next value, at least {@value #MIN_RELATIVE_STD} of the mean's
     * magnitude (or 1e-9); NaN before two values.
     */
    public static double std(double[] state, int offset) {
        double n = state[offset];
        if (n < 2) {
            return Double.NaN;
        }
        double std = Math.sqrt(state[offset + 2] / (n - 1));
        return Math.max(std, Math.max(1e-9, MIN_RELATIVE_STD * Math.abs(state[offset + 1])));
    }

    /** The features of a whole series, in order (what the job computes event by event). */
    public static float[] normalized(double[] values) {
        double[] state = newState();
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = next(state, values[i]).normalized();
        }
        return out;
    }
}
