package io.flinkmamba.jobs.anomaly;

import io.flinkmamba.event.AnomalyLikelihood;

import java.io.Serializable;

/**
 * The anomaly score the Mamba detector reports for an event, formed from the event model's anomaly likelihood
 * as the numenta (HTM) NAB detector forms it from its own:
 * <ul>
 *   <li>the likelihood is the larger of the model's and that of the event's {@link SeasonalResidual}'s
 *       magnitude (the same short window, long window and probation as the model's likelihood, of the residuals
 *       alone), which stands out for as long as a period unlike the earlier ones lasts, where the one-step model
 *       has followed the change;</li>
 *   <li>HTM's filter of sharp increases (optional): a likelihood at or above {@value #RED} right after another
 *       one keeps only {@value #YELLOW} (a run of red events reports its first one as red), since one anomaly
 *       makes many improbable events in a row;</li>
 *   <li>then the log scale {@code log(1.0000000001 - L) / log(1e-10)}, so that a threshold can tell 1 - 1e-6
 *       from 1 - 1e-9 (0.5 means a tail probability of about 1e-5);</li>
 *   <li>1 when the value is a spatial anomaly;</li>
 *   <li>a quiet period: in the {@code quietEvents} events after a reported red one (red on the log scale, or a
 *       spatial anomaly) an event reports at most yellow, since the events after a detection are the same
 *       anomaly (or the same false alarm) again.</li>
 * </ul>
 * An event without a likelihood (a key's first) scores 0, or 1 as a spatial anomaly. Causal: it uses the key's
 * previous events only through its state ({@code double[stateSize()]}, a new key's state zero): the previous
 * event's likelihood, the events left of the quiet period, then the seasonal likelihood's state.
 */
public final class AnomalyScorer implements Serializable {
    private static final long serialVersionUID = 1L;
    static final double RED = 0.99999;
    static final double YELLOW = 0.999;
    private static final int SEASONAL_STATE = 2;
    private static final double LOG_1E_MINUS_10 = Math.log(1e-10);
    static final double RED_SCORE = logScale(RED);
    static final double YELLOW_SCORE = logScale(YELLOW);

    private final AnomalyLikelihood seasonal;
    private final boolean sharpIncreaseFilter;
    private final int quietEvents;

    public AnomalyScorer(DetectorSettings settings) {
        AnomalyLikelihood model = settings.likelihood();
        this.seasonal = new AnomalyLikelihood(model.shortWindow(), model.longWindow(), model.probation(),
                AnomalyLikelihood.Input.SCORE);
        this.sharpIncreaseFilter = settings.sharpIncreaseFilter();
        this.quietEvents = settings.quietEvents();
    }

    public int stateSize() {
        return SEASONAL_STATE + seasonal.stateSize();
    }

    /**
     * The event's anomaly score from its likelihood and seasonal residual (NaN without one); then the combined
     * likelihood becomes the state's previous one.
     */
    public double next(double[] state, double likelihood, double seasonalResidual, boolean spatialAnomaly) {
        double fromSeasonal = seasonal.update(state, SEASONAL_STATE, Math.abs(seasonalResidual), Double.NaN);
        if (!Double.isNaN(fromSeasonal) && !Double.isNaN(likelihood)) {
            likelihood = Math.max(likelihood, fromSeasonal);
        }
        boolean previousRed = state[0] >= RED;
        state[0] = Double.isNaN(likelihood) ? 0 : likelihood;
        double score;
        if (spatialAnomaly) {
            score = 1.0;
        } else if (Double.isNaN(likelihood)) {
            score = 0.0;
        } else {
            score = logScale(sharpIncreaseFilter && likelihood >= RED && previousRed ? YELLOW : likelihood);
        }
        if (state[1] > 0) {
            state[1]--;
            return Math.min(score, YELLOW_SCORE);
        }
        if (score >= RED_SCORE) {
            state[1] = quietEvents;
        }
        return score;
    }

    static double logScale(double likelihood) {
        return Math.max(0.0, Math.log(1.0000000001 - likelihood) / LOG_1E_MINUS_10);
    }
}
