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
     * takes the value into it.
     */
    public static Step next(double[] state, double value) {
        double n = state[0];
        double mean = state[1];
        double min = state[3];
        double max = state[4];
        double normalized = 0;
        double std = Double.NaN;
        boolean spatial = false;
        if (n >= 2) {
            std = Math.sqrt(state[2] / (n - 1));
            std = Math.max(std, Math.max(1e-9, MIN_RELATIVE_STD * Math.abs(mean)));
            normalized = Math.max(-CLIP, Math.min(CLIP, (value - mean) / std));
        }
        if (n >= 1 && max > min) {
            double tolerance = (max - min) * SPATIAL_TOLERANCE;
            spatial = value > max + tolerance || value < min - tolerance;
        }
        n++;
        double delta = value - mean;
        mean += delta / n;
        state[0] = n;
        state[1] = mean;
        state[2] += delta * (value - mean);
        state[3] = n == 1 ? value : Math.min(min, value);
        state[4] = n == 1 ? value : Math.max(max, value);
        return new Step((float) normalized, spatial, std);
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
