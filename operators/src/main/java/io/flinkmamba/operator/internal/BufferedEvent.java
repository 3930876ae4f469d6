package io.flinkmamba.operator.internal;

import org.apache.flink.annotation.Internal;

/**
 * An event waiting in the bundle, already encoded: its model input is a private copy, since the encoder's
 * buffers are reused by the next event.
 *
 * @param key         the event's key
 * @param event       the event, handed to the output mapper after it is stepped
 * @param timestamp   its timestamp (event time, or processing time at arrival without one)
 * @param sessionTime its time on the session clock: the timestamp for event-time sessions, else the arrival
 * @param token       its token id (token models), else -1
 * @param features    its d_model features (feature models), else null
 * @param numeric     its numeric fields (event models), else null
 * @param category    its category index (event models), else -1
 */
@Internal
public record BufferedEvent<K, IN>(K key, IN event, long timestamp, long sessionTime, int token, float[] features,
                                   float[] numeric, int category) {}
