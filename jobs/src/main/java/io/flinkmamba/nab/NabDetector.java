package io.flinkmamba.nab;

import io.flinkmamba.event.SeriesFeatures;
import io.flinkmamba.event.AnomalyLikelihood;

/**
 * The anomaly score the NAB detector reports for a row, formed from the operator's anomaly likelihood as the
 * numenta (HTM) NAB detector forms it from its own:
 * <ul>
 *   <li>the likelihood is the larger of the operator's and that of the row's {@link SeasonalResidual}'s
 *       magnitude ({@link #SEASONAL}: the same short window, long window and probation as the operator's,
 *       of the residuals alone), which stands out for as long as a period unlike the earlier ones lasts,
 *       where the one-step model has followed the change;</li>
 *   <li>HTM's filter of sharp increases: a likelihood at or above {@value #RED} right after another one keeps
 *       only {@value #YELLOW} (a run of red rows reports its first one as red), since one anomaly makes many
 *       improbable rows in a row;</li>
 *   <li>then the log scale {@code log(1.0000000001 - L) / log(1e-10)}, so that a threshold can tell
 *       1 - 1e-6 from 1 - 1e-9 (0.5 means a tail probability of about 1e-5);</li>
 *   <li>1 when the value is a spatial anomaly ({@link SeriesFeatures});</li>
 *   <li>a quiet period: in the {@value #QUIET_ROWS} rows after a reported red row (red on the log scale, or
 *       a spatial anomaly) a row reports at most yellow, since the rows after a detection are the same
 *       anomaly (or the same false alarm) again.</li>
 * </ul>
 * A row without a likelihood (a series' first row) scores 0, or 1 as a spatial anomaly. Causal: it uses the
 * series' previous rows only through its state ({@code double[STATE_SIZE]}, a new series' state zero): the
 * previous row's likelihood, the rows left of the quiet period, then the seasonal likelihood's state.
 */
public final class NabDetector {
    /** The likelihood of the seasonal residuals' magnitudes, windows and probation as {@link NabJob#LIKELIHOOD}. */
    static final AnomalyLikelihood SEASONAL = new AnomalyLikelihood(NabJob.LIKELIHOOD.shortWindow(),
            NabJob.LIKELIHOOD.longWindow(), NabJob.LIKELIHOOD.probation(), AnomalyLikelihood.Input.SCORE);
    private static final int SEASONAL_STATE = 2;
    public static final int STATE_SIZE = SEASONAL_STATE + SEASONAL.stateSize();
    static final double RED = 0.99999;
    static final double YELLOW = 0.999;
    static final int QUIET_ROWS = 30;
    private static final double LOG_1E_MINUS_10 = Math.log(1e-10);
    private static final double RED_SCORE = logScale(RED);
    private static final double YELLOW_SCORE = logScale(YELLOW);

    private NabDetector() {}

    /**
     * The row's anomaly score from its likelihood and seasonal residual (NaN without one); then the combined
     * likelihood becomes the state's previous one.
     */
    public static double next(double[] state, double likelihood, double seasonalResidual, boolean spatialAnomaly) {
        double seasonal = SEASONAL.update(state, SEASONAL_STATE, Math.abs(seasonalResidual), Double.NaN);
        if (!Double.isNaN(seasonal) && !Double.isNaN(likelihood)) {
            likelihood = Math.max(likelihood, seasonal);
        }
        boolean previousRed = state[0] >= RED;
        state[0] = Double.isNaN(likelihood) ? 0 : likelihood;
        double score;
        if (spatialAnomaly) {
            score = 1.0;
        } else if (Double.isNaN(likelihood)) {
            score = 0.0;
        } else {
            score = logScale(likelihood >= RED && previousRed ? YELLOW : likelihood);
        }
        if (state[1] > 0) {
            state[1]--;
            return Math.min(score, YELLOW_SCORE);
        }
        if (score >= RED_SCORE) {
            state[1] = QUIET_ROWS;
        }
        return score;
    }

    private static double logScale(double likelihood) {
        return Math.max(0.0, Math.log(1.0000000001 - likelihood) / LOG_1E_MINUS_10);
    }
}
