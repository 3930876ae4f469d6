package io.flinkmamba.jobs.anomaly;

import io.flinkmamba.jobs.common.SourceEvent;

/** An event with what the detector derived from its key's past before the model sees it (a Flink POJO). */
public class DetectorEvent {
    public SourceEvent event;
    /** The numeric fields as the model takes them: standardized per key, or raw (the model's input transform). */
    public double[] modelInput;
    /** Per numeric field, the key's running mean and standard deviation after this event; null for raw input. */
    public double[] runningMean;
    public double[] runningStd;
    /** Whether a value lies beyond the key's range so far (anomaly.spatial.tolerance). */
    public boolean spatialAnomaly;
    /** The seasonal residual of largest magnitude over the fields; NaN without one. */
    public double seasonalResidual = Double.NaN;

    public DetectorEvent() {}
}
