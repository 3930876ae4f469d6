package io.flinkmamba.operator;

import io.flinkmamba.event.EventPrediction;
import org.apache.flink.annotation.PublicEvolving;

/**
 * The model's view of one event, after stepping the key's state with it.
 *
 * @param hidden        backbone output after the final norm (d_model floats): the key's prediction state
 * @param logits        LM head output for the next event (vocab floats), token models only, else null
 * @param score         negative log-likelihood (nats) of this event under the prediction made after the
 *                      key's previous event (token models: the LM head's softmax; event models:
 *                      {@link io.flinkmamba.event.EventModel#score}); NaN for the first event of a key or
 *                      session, and for plain feature models, which have no heads
 * @param sessionStart  whether this event started the key's state afresh (first event, session gap, or
 *                      a reset)
 * @param eventsSeen    events in the key's state including this one
 * @param timestamp     the event's timestamp (event time, or processing time at arrival without one)
 * @param prediction    event models: the prediction of the key's next event from this event's hidden; else null
 * @param likelihood    event models: the key's {@link io.flinkmamba.event.AnomalyLikelihood} after this event's
 *                      score, in [0, 1]; NaN for plain models and events without a score
 */
@PublicEvolving
public record MambaOutput(
        float[] hidden,
        float[] logits,
        double score,
        boolean sessionStart,
        long eventsSeen,
        long timestamp,
        EventPrediction prediction,
        double likelihood) {
}
