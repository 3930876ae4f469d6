package io.flinkmamba.jobs.anomaly;

import io.flinkmamba.event.DefaultEventModel;
import io.flinkmamba.event.EventModel;
import io.flinkmamba.event.EventPrediction;
import io.flinkmamba.event.InputTransform;

import io.flinkmamba.jobs.anomaly.rcf.RcfDetector;
import io.flinkmamba.jobs.anomaly.rcf.RcfScoringFunction;
import io.flinkmamba.jobs.anomaly.rcf.RcfSettings;
import io.flinkmamba.jobs.common.SourceEvent;
import io.flinkmamba.operator.MambaOperatorBuilder;
import io.flinkmamba.operator.MambaOptions;
import io.flinkmamba.operator.MambaOutput;
import io.flinkmamba.operator.MambaStream;
import io.flinkmamba.operator.OutputMapper;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamUtils;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The anomaly detector as a part of a job graph, the same for every source: the anomaly job's Kafka topic and
 * the {@code nab} command's corpus files. Over parsed events keyed by their key:
 * <ol>
 *   <li>{@link DetectorInputs}: the running standardization the model expects, the spatial check and the
 *       seasonal residual;</li>
 *   <li>the Mamba operator on the event model: each event's score, the anomaly likelihood and the prediction of
 *       the key's next event, in event-time order;</li>
 *   <li>{@link DetectorScores}: the anomaly score and flag.</li>
 * </ol>
 * The stages keep the key's partitioning (no shuffle between them) and their state in Flink keyed state.
 */
public final class AnomalyDetection {
    private static final TypeInformation<DetectorEvent> DETECTOR_EVENT = TypeInformation.of(DetectorEvent.class);
    private static final TypeInformation<AnomalyResult> RESULT = TypeInformation.of(AnomalyResult.class);

    private AnomalyDetection() {}

    /**
     * The detector's streams.
     *
     * @param results  one result per accepted event, in each key's event-time order
     * @param late     events behind the watermark on arrival
     * @param rejected (event, reason) for events the model cannot take
     */
    public record Streams(DataStream<AnomalyResult> results, DataStream<SourceEvent> late,
                          DataStream<Tuple2<SourceEvent, String>> rejected) {}

    /**
     * Applies the detector that {@code config} names to {@code events}; {@code uidPrefix} tells apart several
     * detectors in one graph (empty for a job's only one).
     */
    public static Streams apply(DataStream<SourceEvent> events, ReadableConfig config, String uidPrefix)
            throws IOException {
        if (config.get(DetectorOptions.DETECTOR) == DetectorOptions.Kind.RCF) {
            return applyRandomCutForest(events, config, uidPrefix);
        }
        DetectorSettings settings = DetectorSettings.from(config);
        Path modelDir = DefaultEventModel.resolve(config.get(MambaOptions.MODEL_DIR));
        EventModel model = EventModel.load(modelDir);
        int fields = model.schema().numericCount();
        boolean standardize = model.inputTransform() == InputTransform.RUNNING_STANDARDIZED;

        SingleOutputStreamOperator<DetectorEvent> inputs = events.keyBy(e -> e.key)
                .process(new DetectorInputs(fields, standardize, settings)).returns(DETECTOR_EVENT)
                .uid(uidPrefix + "detector-inputs").name("detector inputs");
        MambaStream<DetectorEvent, AnomalyResult> scored = MambaOperatorBuilder
                .<DetectorEvent, AnomalyResult>forModel(modelDir)
                .configure(config)
                .eventTimeOrdering(true)
                .anomalyLikelihood(settings.likelihood())
                .eventExtractor((e, f) -> {
                    for (int i = 0; i < e.modelInput.length; i++) {
                        f.numeric(i, e.modelInput[i]);
                    }
                    if (e.event.categoryIndex >= 0) {
                        f.category(e.event.categoryIndex);
                    }
                })
                .outputMapper(new ToResult(), RESULT)
                .applyTo(DataStreamUtils.reinterpretAsKeyedStream(inputs, e -> e.event.key, Types.STRING));
        scored.results().uid(uidPrefix + "mamba").name("mamba");
        DataStream<AnomalyResult> results = DataStreamUtils
                .reinterpretAsKeyedStream(scored.results(), r -> r.event.key, Types.STRING)
                .process(new DetectorScores(settings)).returns(RESULT)
                .uid(uidPrefix + "detector-scores").name("detector scores");
        DataStream<SourceEvent> late = scored.late().map(e -> e.event).returns(SourceEvent.class)
                .uid(uidPrefix + "late-detector-events").name("late events");
        DataStream<Tuple2<SourceEvent, String>> rejected = scored.rejected()
                .map(t -> Tuple2.of(t.f0.event, t.f1)).returns(Types.TUPLE(TypeInformation.of(SourceEvent.class),
                        Types.STRING))
                .uid(uidPrefix + "rejected-detector-events").name("rejected events");
        return new Streams(results, late, rejected);
    }

    /**
     * The baseline: a Random Cut Forest per key over the raw numeric fields, in arrival order; its anomaly score
     * flagged at {@code rcf.threshold}. Nothing is late or rejected.
     */
    private static Streams applyRandomCutForest(DataStream<SourceEvent> events, ReadableConfig config,
                                                String uidPrefix) {
        RcfSettings rcf = RcfSettings.from(config);
        int fields = config.getOptional(AnomalyOptions.NUMERIC_FIELDS).map(List::size).orElse(0);
        TypeInformation<SourceEvent> eventType = TypeInformation.of(SourceEvent.class);
        DataStream<AnomalyResult> results = events.keyBy(e -> e.key)
                .process(new RcfScoringFunction<SourceEvent>(new RcfDetector(rcf, fields), e -> e.numeric))
                .returns(RcfScoringFunction.outputType(eventType))
                .uid(uidPrefix + "rcf").name("random cut forest")
                .map(scored -> {
                    AnomalyResult r = new AnomalyResult();
                    r.event = scored.f0;
                    r.anomalyScore = scored.f1;
                    r.anomaly = rcf.isAnomaly(scored.f1);
                    r.eventsSeen = -1;
                    return r;
                }).returns(RESULT).uid(uidPrefix + "rcf-results").name("rcf results");
        DataStream<SourceEvent> none = events.filter(e -> false).name("no late events");
        return new Streams(results, none, none.map(e -> Tuple2.of(e, "")).returns(
                Types.TUPLE(eventType, Types.STRING)));
    }

    /** The operator's output as a result; a standardized model's prediction back in raw units. */
    static final class ToResult implements OutputMapper<DetectorEvent, AnomalyResult> {
        @Override
        public AnomalyResult map(DetectorEvent e, MambaOutput output) {
            AnomalyResult r = new AnomalyResult();
            r.event = e.event;
            r.score = output.score();
            r.likelihood = output.likelihood();
            r.eventsSeen = output.eventsSeen();
            r.spatialAnomaly = e.spatialAnomaly;
            r.seasonalResidual = e.seasonalResidual;
            EventPrediction prediction = output.prediction();
            int fields = e.modelInput.length;
            r.predictionMean = new double[fields];
            r.predictionStd = new double[fields];
            for (int i = 0; i < fields; i++) {
                double mean = prediction.mean()[i];
                double std = prediction.std()[i];
                if (e.runningStd != null) { // mean and std of the standardized value; NaN before two values
                    mean = e.runningMean[i] + e.runningStd[i] * mean;
                    std = e.runningStd[i] * std;
                }
                r.predictionMean[i] = mean;
                r.predictionStd[i] = std;
            }
            return r;
        }
    }
}
