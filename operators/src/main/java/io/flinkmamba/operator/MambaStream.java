package io.flinkmamba.operator;

import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

/**
 * The streams of an applied Mamba operator.
 *
 * @param results  one result per accepted event, in each key's event order
 * @param rejected (event, reason) for each event that could not be turned into model input
 * @param late     events that arrived at or behind the watermark, with event-time ordering
 */
@PublicEvolving
public record MambaStream<IN, OUT>(SingleOutputStreamOperator<OUT> results, DataStream<Tuple2<IN, String>> rejected,
                                   DataStream<IN> late) {
}
