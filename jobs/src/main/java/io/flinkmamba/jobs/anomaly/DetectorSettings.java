package io.flinkmamba.jobs.anomaly;

import io.flinkmamba.event.AnomalyLikelihood;
import org.apache.flink.configuration.ReadableConfig;

import java.io.Serializable;
import java.util.List;

/**
 * The Mamba detector's validated settings ({@link DetectorOptions}), handed to the job's functions.
 *
 * @param likelihood        the event model's anomaly likelihood (the operator keeps its state with the key's)
 * @param spatialTolerance  share of the key's range beyond which a value is a spatial anomaly; 0 disables
 * @param seasonal          the seasonal residual, or null when disabled
 * @param sharpIncreaseFilter  whether a red likelihood right after another one reports yellow
 * @param quietEvents       events after a reported anomaly that report at most yellow
 * @param threshold         the anomaly score at which an event is flagged
 */
public record DetectorSettings(AnomalyLikelihood likelihood, double spatialTolerance, SeasonalResidual seasonal,
                               boolean sharpIncreaseFilter, int quietEvents, double threshold) implements Serializable {

    /** The settings in {@code config} (defaults for those absent); adds a message per bad value to {@code problems}. */
    public static DetectorSettings from(ReadableConfig config, List<String> problems) {
        int shortWindow = config.get(DetectorOptions.SHORT_WINDOW);
        int longWindow = config.get(DetectorOptions.LONG_WINDOW);
        int probation = config.get(DetectorOptions.PROBATION);
        AnomalyLikelihood likelihood = null;
        try {
            likelihood = new AnomalyLikelihood(shortWindow, longWindow, probation,
                    config.get(DetectorOptions.LIKELIHOOD_INPUT));
        } catch (IllegalArgumentException e) {
            problems.add("settings 'anomaly.likelihood.*': " + e.getMessage());
        }
        double tolerance = config.get(DetectorOptions.SPATIAL_TOLERANCE);
        if (!(tolerance >= 0) || Double.isInfinite(tolerance)) {
            problems.add("setting 'anomaly.spatial.tolerance' is " + tolerance + "; it must be 0 or positive");
        }
        SeasonalResidual seasonal = null;
        if (config.get(DetectorOptions.SEASONAL)) {
            try {
                seasonal = new SeasonalResidual(config.get(DetectorOptions.SEASONAL_PERIODS),
                        config.get(DetectorOptions.SEASONAL_MIN_AUTOCORRELATION),
                        config.get(DetectorOptions.SEASONAL_MAX_PERIOD));
            } catch (IllegalArgumentException e) {
                problems.add("settings 'anomaly.seasonal.*': " + e.getMessage());
            }
        }
        int quiet = config.get(DetectorOptions.QUIET_EVENTS);
        if (quiet < 0) {
            problems.add("setting 'anomaly.quiet-period' is " + quiet + "; it must be 0 or more events");
        }
        double threshold = config.get(DetectorOptions.THRESHOLD);
        if (!(threshold > 0 && threshold <= 1)) {
            problems.add("setting 'anomaly.threshold' is " + threshold + "; it must be in (0, 1]");
        }
        return new DetectorSettings(likelihood, tolerance, seasonal, config.get(DetectorOptions.SHARP_INCREASE_FILTER),
                quiet, threshold);
    }

    /** The settings in {@code config}, failing with every problem in one message. */
    public static DetectorSettings from(ReadableConfig config) {
        List<String> problems = new java.util.ArrayList<>();
        DetectorSettings settings = from(config, problems);
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", problems));
        }
        return settings;
    }
}
