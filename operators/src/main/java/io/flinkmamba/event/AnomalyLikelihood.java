package io.flinkmamba.event;

/**
 * A calibrated anomaly likelihood in [0, 1] from a key's stream of scores (negative log-likelihoods), the
 * idea of NAB's HTM anomaly likelihood: how improbable is the mean of the recent scores under the
 * distribution that such means have had over the long run?
 *
 * <p>Per score s: the short-window mean m of the last {@code shortWindow} scores is compared with a normal
 * distribution fitted to the earlier short-window means (exponentially weighted with horizon
 * {@code longWindow}: running mean and variance with weight max(1/n, 1/longWindow)); the likelihood is
 * Phi((m - mu) / sigma), one minus the upper tail probability (one-sided: an unusually predictable stretch
 * is not an anomaly), with sigma at least {@value #MIN_STD}. Then m joins the fit. During the first
 * {@code probation} scores the likelihood is 0.5 (not yet calibrated). A NaN score (a key's or session's first
 * event) leaves the state alone and gives NaN.
 *
 * <p>The state is a plain {@code double[stateSize()]}, zero for a new key, which the operator keeps in the
 * key's stored state: [0] scores seen, [1] fitted mean, [2] fitted variance, then the ring of recent scores.
 */
public final class AnomalyLikelihood implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    public static final int DEFAULT_SHORT_WINDOW = 10;
    public static final int DEFAULT_LONG_WINDOW = 8640;
    public static final int DEFAULT_PROBATION = 300;
    static final double MIN_STD = 1e-3;

    private final int shortWindow;
    private final int longWindow;
    private final int probation;

    public AnomalyLikelihood(int shortWindow, int longWindow, int probation) {
        if (shortWindow < 1 || longWindow < 1 || probation < 1) {
            throw new IllegalArgumentException("anomaly likelihood windows and probation must be positive, got "
                    + shortWindow + ", " + longWindow + ", " + probation);
        }
        this.shortWindow = shortWindow;
        this.longWindow = longWindow;
        this.probation = probation;
    }

    /**
     * Short window 10 scores and long-window horizon 8640 (HTM's averaging window and historic window),
     * probation 300 scores (HTM's learning period of 288 plus a margin).
     */
    public static AnomalyLikelihood withDefaults() {
        return new AnomalyLikelihood(DEFAULT_SHORT_WINDOW, DEFAULT_LONG_WINDOW, DEFAULT_PROBATION);
    }

    public int shortWindow() { return shortWindow; }
    public int longWindow() { return longWindow; }
    public int probation() { return probation; }

    public int stateSize() {
        return 3 + shortWindow;
    }

    /** Takes the key's next score into {@code state} and returns the likelihood after it (see the class). */
    public double update(double[] state, double score) {
        if (state.length != stateSize()) {
            throw new IllegalArgumentException("anomaly likelihood state has " + state.length + " values, expected "
                    + stateSize());
        }
        if (Double.isNaN(score)) {
            return Double.NaN;
        }
        long n = (long) state[0];
        state[3 + (int) (n % shortWindow)] = score;
        n++;
        state[0] = n;
        int recent = (int) Math.min(n, shortWindow);
        double sum = 0;
        for (int i = 0; i < recent; i++) {
            sum += state[3 + i];
        }
        double shortMean = sum / recent;
        double likelihood = 0.5;
        if (n > probation) {
            double sigma = Math.max(MIN_STD, Math.sqrt(state[2]));
            likelihood = 1 - upperTail((shortMean - state[1]) / sigma);
        }
        double weight = Math.max(1.0 / n, 1.0 / longWindow);
        double diff = shortMean - state[1];
        double increment = weight * diff;
        state[1] += increment;
        state[2] = (1 - weight) * (state[2] + diff * increment);
        return likelihood;
    }

    /** Q(z) = P(Z &gt; z) for a standard normal Z. */
    static double upperTail(double z) {
        return 0.5 * erfc(z / Math.sqrt(2));
    }

    /** erfc by the Chebyshev fit of Numerical Recipes (erfcc): relative error below 1.2e-7 everywhere. */
    static double erfc(double x) {
        double z = Math.abs(x);
        double t = 1 / (1 + 0.5 * z);
        double r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}
