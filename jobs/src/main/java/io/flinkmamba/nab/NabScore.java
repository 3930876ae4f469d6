package io.flinkmamba.nab;

/** What the job reports for one row (a Flink POJO); {@code problem} is null for a scored row. */
public class NabScore {
    public String series;
    public int row;
    /** The model's negative log-likelihood of the row (nats); NaN for a series' first row. */
    public double score;
    /** The operator's anomaly likelihood after the row; NaN without a score. */
    public double likelihood;
    public boolean spatialAnomaly;
    /** The row's {@link SeasonalResidual} (NaN without one). */
    public double seasonalResidual;
    /** What the detector reports ({@link NabDetector}), filled in by the job. */
    public double anomalyScore;
    /** Why the row was not scored (rejected by the operator, or late), else null. */
    public String problem;

    public NabScore() {}

    static NabScore scored(NabEvent e, double score, double likelihood) {
        NabScore s = of(e);
        s.score = score;
        s.likelihood = likelihood;
        return s;
    }

    static NabScore failed(NabEvent e, String problem) {
        NabScore s = of(e);
        s.score = Double.NaN;
        s.likelihood = Double.NaN;
        s.problem = problem;
        return s;
    }

    private static NabScore of(NabEvent e) {
        NabScore s = new NabScore();
        s.series = e.series;
        s.row = e.row;
        s.spatialAnomaly = e.spatialAnomaly;
        s.seasonalResidual = e.seasonalResidual;
        return s;
    }
}
