package io.flinkmamba.jobs.anomaly;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/** The last stage of the Mamba detector: each result's {@link AnomalyScorer} score and flag, in the key's order. */
final class DetectorScores extends KeyedProcessFunction<String, AnomalyResult, AnomalyResult> {
    private final AnomalyScorer scorer;
    private final double threshold;
    private transient ValueState<double[]> state;

    DetectorScores(DetectorSettings settings) {
        this.scorer = new AnomalyScorer(settings);
        this.threshold = settings.threshold();
    }

    @Override
    public void open(OpenContext context) {
        state = getRuntimeContext().getState(new ValueStateDescriptor<>("anomaly-detector-scores",
                PrimitiveArrayTypeInfo.DOUBLE_PRIMITIVE_ARRAY_TYPE_INFO));
    }

    @Override
    public void processElement(AnomalyResult result, Context context, Collector<AnomalyResult> out) throws Exception {
        double[] s = state.value();
        if (s == null || s.length != scorer.stateSize()) {
            s = new double[scorer.stateSize()];
        }
        result.anomalyScore = scorer.next(s, result.likelihood, result.seasonalResidual, result.spatialAnomaly);
        result.anomaly = result.anomalyScore >= threshold;
        state.update(s);
        out.collect(result);
    }
}
