package io.flinkmamba.event;

import java.util.Objects;

/**
 * A calibrated anomaly likelihood in [0, 1] from a key's stream of scores, the idea of NAB's HTM anomaly
 * likelihood: how improbable is the mean of the recent scores under the distribution that such means have
 * had over the long run?
 *
 * <p>What is averaged ({@link Input}): the event's score (its negative log-likelihood, unbounded: one
 * far-off event dominates the mean, so a single spike stands out), its improbability in [0, 1]
 * ({@link EventModel#improbability}; bounded like HTM's raw anomaly score, so a stretch of poorly predicted
 * events stands out and the fit is not thrown off by the heavy tail of the scores), or both, each with a fit
 * of its own, the likelihood then being the larger of the two.
 *
 * <p>Per value s: the short-window mean m of the last {@code shortWindow} values is compared with a normal
 * distribution fitted to the earlier short-window means (exponentially weighted with horizon
 * {@code longWindow}: running mean and variance with weight max(1/n, 1/longWindow)); the likelihood is
 * Phi((m - mu) / sigma), one minus the upper tail probability (one-sided: an unusually predictable stretch
 * is not an anomaly), with sigma at least {@value #MIN_STD} for scores and the variance at least
 * {@value #MIN_IMPROBABILITY_VARIANCE} for improbabilities (HTM's floor for its raw scores: a key whose
 * events were all predicted perfectly would otherwise take the slightest improbability for an anomaly).
 * Then m joins the fit. During the first {@code probation} values the likelihood is 0.5 (not yet
 * calibrated). An unscored event (a key's or session's first) leaves the state alone and gives NaN.
 *
 * <p>The state is a plain {@code double[stateSize()]}, zero for a new key, which the operator keeps in the
 * key's stored state: per averaged input (the score's first) a block of [0] values seen, [1] fitted mean,
 * [2] fitted variance, then the ring of recent values.
 */
public final class AnomalyLikelihood implements java.io.Serializable {
    private static final long serialVersionUID = 2L;

    /** What the likelihood averages of each event. */
    public enum Input {
        /** The event's score, its negative log-likelihood in nats ({@link EventModel#score}). */
        SCORE,
        /** The event's improbability in [0, 1] ({@link EventModel#improbability}). */
        IMPROBABILITY,
        /** Both, each fitted on its own; the likelihood is the larger one. */
        SCORE_AND_IMPROBABILITY;

        boolean score() {
            return this != IMPROBABILITY;
        }

        boolean improbability() {
            return this != SCORE;
        }
    }

    public static final int DEFAULT_SHORT_WINDOW = 10;
    public static final int DEFAULT_LONG_WINDOW = 8640;
    public static final int DEFAULT_PROBATION = 300;
    static final double MIN_STD = 1e-3;
    static final double MIN_IMPROBABILITY_VARIANCE = 3e-4;
    private static final double MIN_IMPROBABILITY_STD = Math.sqrt(MIN_IMPROBABILITY_VARIANCE);

    private final int shortWindow;
    private final int longWindow;
    private final int probation;
    private final Input input;

    /** A likelihood of the events' scores ({@link Input#SCORE}). */
    public AnomalyLikelihood(int shortWindow, int longWindow, int probation) {
        this(shortWindow, longWindow, probation, Input.SCORE);
    }

    public AnomalyLikelihood(int shortWindow, int longWindow, int probation, Input input) {
        if (shortWindow < 1 || longWindow < 1 || probation < 1) {
            throw new IllegalArgumentException("anomaly likelihood windows and probation must be positive, got "
                    + shortWindow + ", " + longWindow + ", " + probation);
        }
        this.shortWindow = shortWindow;
        this.longWindow = longWindow;
        this.probation = probation;
        this.input = Objects.requireNonNull(input, "input");
    }

    /**
     * Short window 10 scores and long-window horizon 8640 (HTM's averaging window and historic window),
     * probation 300 scores (HTM's learning period of 288 plus a margin), of the events' scores.
     */
    public static AnomalyLikelihood withDefaults() {
        return new AnomalyLikelihood(DEFAULT_SHORT_WINDOW, DEFAULT_LONG_WINDOW, DEFAULT_PROBATION);
    }

    public int shortWindow() { return shortWindow; }
    public int longWindow() { return longWindow; }
    public int probation() { return probation; }
    public Input input() { return input; }

    public int stateSize() {
        return (input == Input.SCORE_AND_IMPROBABILITY ? 2 : 1) * blockSize();
    }

    private int blockSize() {
        return 3 + shortWindow;
    }

    /**
     * Takes the key's next event into {@code state} and returns the likelihood after it (see the class):
     * {@code score} is its negative log-likelihood, {@code improbability} its improbability in [0, 1]; only
     * those that {@link #input()} names are read (the other may be anything). NaN for an unscored event.
     */
    public double update(double[] state, double score, double improbability) {
        if (state.length != stateSize()) {
            throw new IllegalArgumentException("anomaly likelihood state has " + state.length + " values, expected "
                    + stateSize());
        }
        return update(state, 0, score, improbability);
    }

    /** {@link #update(double[], double, double)} on the state in {@code state[offset, offset + stateSize())}. */
    public double update(double[] state, int offset, double score, double improbability) {
        if (offset < 0 || offset + stateSize() > state.length) {
            throw new IllegalArgumentException("anomaly likelihood state at " + offset + " needs " + stateSize()
                    + " values, the array has " + state.length);
        }
        if (input.score() && Double.isNaN(score) || input.improbability() && Double.isNaN(improbability)) {
            return Double.NaN;
        }
        if (input.improbability() && !(improbability >= 0 && improbability <= 1)) {
            throw new IllegalArgumentException("an improbability lies in [0, 1], got " + improbability);
        }
        double likelihood = 0;
        if (input.score()) {
            likelihood = fit(state, offset, score, MIN_STD);
        }
        if (input.improbability()) {
            likelihood = Math.max(likelihood, fit(state, offset + (input.score() ? blockSize() : 0), improbability,
                    MIN_IMPROBABILITY_STD));
        }
        return likelihood;
    }

    /** One input's fit, in the block at {@code at}. */
    private double fit(double[] state, int at, double value, double minStd) {
        long n = (long) state[at];
        state[at + 3 + (int) (n % shortWindow)] = value;
        n++;
        state[at] = n;
        int recent = (int) Math.min(n, shortWindow);
        double sum = 0;
        for (int i = 0; i < recent; i++) {
            sum += state[at + 3 + i];
        }
        double shortMean = sum / recent;
        double likelihood = 0.5;
        if (n > probation) {
            double sigma = Math.max(minStd, Math.sqrt(state[at + 2]));
            likelihood = 1 - upperTail((shortMean - state[at + 1]) / sigma);
        }
        double weight = Math.max(1.0 / n, 1.0 / longWindow);
        double diff = shortMean - state[at + 1];
        double increment = weight * diff;
        state[at + 1] += increment;
        state[at + 2] = (1 - weight) * (state[at + 2] + diff * increment);
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
