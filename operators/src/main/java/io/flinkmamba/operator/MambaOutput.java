package io.flinkmamba.operator;

/**
 * The model's view of one event, after stepping the key's state with it.
 *
 * @param hidden        backbone output after the final norm (d_model floats): the key's prediction state
 * @param logits        LM head output for the next event (vocab floats), token models only, else null
 * @param score         negative log-likelihood (nats) of this event under the prediction made after the
 *                      key's previous event; NaN for the first event of a key or session, and for
 *                      feature models (their numeric heads come with trained event models)
 * @param sessionStart  whether this event started the key's state afresh (first event, session gap, or
 *                      a reset)
 * @param eventsSeen    events in the key's state including this one
 * @param timestamp     the event's timestamp (event time, or processing time at arrival without one)
 */
public record MambaOutput(
        float[] hidden,
        float[] logits,
        double score,
        boolean sessionStart,
        long eventsSeen,
        long timestamp) {
}
