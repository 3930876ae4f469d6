package io.flinkmamba.nab;

/** One row of a NAB series on its way through the job (a Flink POJO). */
public class NabEvent {
    /** The series, e.g. {@code realKnownCause/nyc_taxi.csv}: the key. */
    public String series;
    /** The row within the series. */
    public int row;
    /** The fold whose model scores this series (a model that has not trained on it). */
    public int fold;
    /** Event time: the row's timestamp as UTC epoch milliseconds. */
    public long timestamp;
    public double value;
    /** From {@link io.flinkmamba.event.SeriesFeatures}, filled in by the job. */
    public float normalized;
    public boolean spatialAnomaly;
    /** From {@link SeasonalResidual}, filled in by the job; NaN without one. */
    public double seasonalResidual = Double.NaN;

    public NabEvent() {}

    NabEvent(String series, int row, int fold, long timestamp, double value) {
        this.series = series;
        this.row = row;
        this.fold = fold;
        this.timestamp = timestamp;
        this.value = value;
    }
}
