package io.flinkmamba.nab;

/**
 * The anomaly score the NAB detector reports for a row, formed from the operator's anomaly likelihood as the
 * numenta (HTM) NAB detector forms it from its own:
 * <ul>
 *   <li>HTM's filter of sharp increases: a likelihood at or above {@value #RED} right after another one keeps
 *       only {@value #YELLOW} (a run of red rows reports its first one as red), since one anomaly makes many
 *       improbable rows in a row;</li>
 *   <li>then the log scale {@code log(1.0000000001 - L) / log(1e-10)}, so that a threshold can tell
 *       1 - 1e-6 from 1 - 1e-9 (0.5 means a tail probability of about 1e-5);</li>
 *   <li>1 when the value is a spatial anomaly ({@link SeriesFeatures}).</li>
 * </ul>
 * A row without a likelihood (a series' first row) scores 0, or 1 as a spatial anomaly. Causal: it uses the
 * series' previous row's likelihood, the only state ({@code double[STATE_SIZE]}, a new series' state zero).
 */
public final class NabDetector {
    public static final int STATE_SIZE = 1;
    static final double RED = 0.99999;
    static final double YELLOW = 0.999;
    private static final double LOG_1E_MINUS_10 = Math.log(1e-10);

    private NabDetector() {}

    /** The row's anomaly score from its likelihood; then the likelihood becomes the state's previous one. */
    public static double next(double[] state, double likelihood, boolean spatialAnomaly) {
        boolean previousRed = state[0] >= RED;
        state[0] = Double.isNaN(likelihood) ? 0 : likelihood;
        if (spatialAnomaly) {
            return 1.0;
        }
        if (Double.isNaN(likelihood)) {
            return 0.0;
        }
        double filtered = likelihood >= RED && previousRed ? YELLOW : likelihood;
        return Math.max(0.0, Math.log(1.0000000001 - filtered) / LOG_1E_MINUS_10);
    }
}
