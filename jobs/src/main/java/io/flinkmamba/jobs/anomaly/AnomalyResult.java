package io.flinkmamba.jobs.anomaly;

import io.flinkmamba.jobs.common.SourceEvent;

/** One event's result from the anomaly detector (a Flink POJO); the job writes it as JSON. */
public class AnomalyResult {
    public SourceEvent event;
    /** The model's negative log-likelihood of the event (nats, in the model's input units); NaN when unscored. */
    public double score = Double.NaN;
    /** The key's anomaly likelihood after the event, in [0, 1]; NaN when unscored. */
    public double likelihood = Double.NaN;
    /** What the detector reports, in [0, 1]; an event at or above anomaly.threshold is an anomaly. */
    public double anomalyScore;
    public boolean anomaly;
    /** Events in the key's state including this one. */
    public long eventsSeen;
    /** The prediction of the key's next event per numeric field, raw units; null for the RCF detector. */
    public double[] predictionMean;
    public double[] predictionStd;
    public boolean spatialAnomaly;
    public double seasonalResidual = Double.NaN;

    public AnomalyResult() {}
}
