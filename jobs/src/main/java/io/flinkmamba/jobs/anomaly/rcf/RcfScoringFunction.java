package io.flinkmamba.jobs.anomaly.rcf;

import com.amazon.randomcutforest.RandomCutForest;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.function.SerializableFunction;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Scores each event against its key's Random Cut Forest ({@link RcfDetector}) and emits it with its anomaly
 * score in [0, 1], in input order per key.
 *
 * <p>Each key's forest lives in keyed state as its serialized bytes, written after every event, so that a
 * checkpoint always holds every key's forest as of its last event and a restored job scores exactly as an
 * uninterrupted one. The forests of the {@code cacheKeys} most recently scored keys also stay deserialized
 * in a per-subtask LRU cache: such a forest is the same forest the state bytes describe (serializing it is
 * exact), so the cache only saves reading it back; it starts empty in every new function instance, after a
 * restore or rescale included.
 *
 * <p>An event whose values the detector rejects (wrong count, NaN or infinite) is dropped, leaves its key's
 * forest untouched, and counts in the {@code rcfRejectedEvents} metric.
 */
public final class RcfScoringFunction<T> extends KeyedProcessFunction<String, T, Tuple2<T, Double>> {
    private static final long serialVersionUID = 1L;
    static final String STATE_NAME = "rcf-forest";

    private final RcfDetector detector;
    private final SerializableFunction<T, double[]> values;

    private transient ValueState<byte[]> forestState;
    private transient Map<String, RandomCutForest> recentForests;
    private transient Counter rejected;

    /** {@code values} extracts an event's numeric fields, as many as the detector has. */
    public RcfScoringFunction(RcfDetector detector, SerializableFunction<T, double[]> values) {
        this.detector = detector;
        this.values = values;
    }

    /** The type of this function's output for events of {@code eventType}. */
    public static <T> TypeInformation<Tuple2<T, Double>> outputType(TypeInformation<T> eventType) {
        return Types.TUPLE(eventType, Types.DOUBLE);
    }

    @Override
    public void open(OpenContext openContext) {
        forestState = getRuntimeContext().getState(new ValueStateDescriptor<>(STATE_NAME, byte[].class));
        int capacity = detector.settings().cacheKeys();
        recentForests = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, RandomCutForest> eldest) {
                return size() > capacity;
            }
        };
        rejected = getRuntimeContext().getMetricGroup().counter("rcfRejectedEvents");
    }

    @Override
    public void processElement(T event, Context ctx, Collector<Tuple2<T, Double>> out) throws IOException {
        String key = ctx.getCurrentKey();
        RandomCutForest forest = forest(key);
        double score;
        try {
            score = detector.score(forest, values.apply(event));
        } catch (IllegalArgumentException rejectedValues) {
            rejected.inc();
            return;
        }
        forestState.update(RcfDetector.toBytes(forest));
        out.collect(Tuple2.of(event, score));
    }

    private RandomCutForest forest(String key) throws IOException {
        RandomCutForest forest = recentForests.get(key);
        if (forest == null) {
            byte[] saved = forestState.value();
            forest = saved == null ? detector.newForest(key) : RcfDetector.fromBytes(saved);
            recentForests.put(key, forest);
        }
        return forest;
    }
}
