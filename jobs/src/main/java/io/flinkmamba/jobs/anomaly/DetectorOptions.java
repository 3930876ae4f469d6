package io.flinkmamba.jobs.anomaly;

import io.flinkmamba.event.AnomalyLikelihood;
import io.flinkmamba.event.SeriesFeatures;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

import java.util.List;

/**
 * The anomaly detector's settings ({@code anomaly.*}): which detector, and each part of the Mamba detector
 * ({@link AnomalyDetection}) with its tuned default.
 */
public final class DetectorOptions {
    private DetectorOptions() {}

    /** The detectors the anomaly job offers. */
    public enum Kind {
        /** The Mamba event model with the likelihood, seasonal residual, spatial check, filter and quiet period. */
        MAMBA,
        /** Amazon's Random Cut Forest per key (the {@code rcf.*} settings), a baseline without a model. */
        RCF
    }

    public static final ConfigOption<Kind> DETECTOR = ConfigOptions.key("anomaly.detector")
            .enumType(Kind.class).defaultValue(Kind.MAMBA)
            .withDescription("MAMBA: the event model and the detector below; RCF: a Random Cut Forest per key "
                    + "(settings rcf.*).");

    public static final ConfigOption<Double> THRESHOLD = ConfigOptions.key("anomaly.threshold")
            .doubleType().defaultValue(0.5)
            .withDescription("An event whose anomaly_score reaches this is flagged \"anomaly\": true. The Mamba "
                    + "detector's score is log(1.0000000001 - L) / log(1e-10) of the likelihood L, so 0.5 is "
                    + "L = 1 - 1e-5.");

    public static final ConfigOption<Integer> SHORT_WINDOW = ConfigOptions.key("anomaly.likelihood.short-window")
            .intType().defaultValue(15)
            .withDescription("Events whose mean score the likelihood compares with the key's long-run fit.");

    public static final ConfigOption<Integer> LONG_WINDOW = ConfigOptions.key("anomaly.likelihood.long-window")
            .intType().defaultValue(AnomalyLikelihood.DEFAULT_LONG_WINDOW)
            .withDescription("Horizon, in events, of the long-run fit of the short-window means.");

    public static final ConfigOption<Integer> PROBATION = ConfigOptions.key("anomaly.likelihood.probation")
            .intType().defaultValue(AnomalyLikelihood.DEFAULT_PROBATION)
            .withDescription("A key's first events, whose likelihood is 0.5 while the fit calibrates.");

    public static final ConfigOption<AnomalyLikelihood.Input> LIKELIHOOD_INPUT = ConfigOptions
            .key("anomaly.likelihood.input")
            .enumType(AnomalyLikelihood.Input.class).defaultValue(AnomalyLikelihood.Input.SCORE_AND_IMPROBABILITY)
            .withDescription("What the likelihood averages: SCORE (negative log-likelihood: a single far-off event "
                    + "stands out), IMPROBABILITY (bounded: a stretch of poorly predicted events stands out) or both, "
                    + "each fitted on its own, the larger likelihood counting.");

    public static final ConfigOption<Double> SPATIAL_TOLERANCE = ConfigOptions.key("anomaly.spatial.tolerance")
            .doubleType().defaultValue(SeriesFeatures.SPATIAL_TOLERANCE)
            .withDescription("A value beyond the key's range so far by more than this share of the range scores 1 "
                    + "(a spatial anomaly); 0 disables the check.");

    public static final ConfigOption<Boolean> SEASONAL = ConfigOptions.key("anomaly.seasonal.enabled")
            .booleanType().defaultValue(true)
            .withDescription("Add the likelihood of the seasonal residual: how far a value lies from the values at "
                    + "the same phase of the key's daily or weekly period.");

    public static final ConfigOption<Integer> SEASONAL_PERIODS = ConfigOptions.key("anomaly.seasonal.periods")
            .intType().defaultValue(SeasonalResidual.DEFAULT_PERIODS)
            .withDescription("Earlier periods whose median value at the same phase the residual is taken from.");

    public static final ConfigOption<Double> SEASONAL_MIN_AUTOCORRELATION = ConfigOptions
            .key("anomaly.seasonal.min-autocorrelation")
            .doubleType().defaultValue(SeasonalResidual.DEFAULT_MIN_AUTOCORRELATION)
            .withDescription("A day or a week counts as the key's period when the autocorrelation at that lag "
                    + "exceeds this.");

    public static final ConfigOption<Integer> SEASONAL_MAX_PERIOD = ConfigOptions.key("anomaly.seasonal.max-period-rows")
            .intType().defaultValue(SeasonalResidual.DEFAULT_MAX_PERIOD_ROWS)
            .withDescription("Keys with more events per week than this get no seasonal residual (its history is "
                    + "kept in keyed state: periods x week rows per numeric field).");

    public static final ConfigOption<Boolean> SHARP_INCREASE_FILTER = ConfigOptions
            .key("anomaly.filter.sharp-increases")
            .booleanType().defaultValue(true)
            .withDescription("A likelihood at or above 0.99999 right after another one reports only 0.999: a run of "
                    + "improbable events reports its first one (the HTM detector's filter).");

    public static final ConfigOption<Integer> QUIET_EVENTS = ConfigOptions.key("anomaly.quiet-period")
            .intType().defaultValue(30)
            .withDescription("Events after a reported anomaly (score at or above that of 0.99999, or a spatial "
                    + "anomaly) that report at most the score of 0.999: they are the same anomaly again.");

    public static List<ConfigOption<?>> all() {
        return List.of(DETECTOR, THRESHOLD, SHORT_WINDOW, LONG_WINDOW, PROBATION, LIKELIHOOD_INPUT, SPATIAL_TOLERANCE,
                SEASONAL, SEASONAL_PERIODS, SEASONAL_MIN_AUTOCORRELATION, SEASONAL_MAX_PERIOD, SHARP_INCREASE_FILTER,
                QUIET_EVENTS);
    }
}
