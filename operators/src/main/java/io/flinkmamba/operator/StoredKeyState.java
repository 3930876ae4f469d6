package io.flinkmamba.operator;

import org.apache.flink.annotation.Internal;

import java.util.Arrays;
import java.util.Objects;

/**
 * One key's value in Flink keyed state: a header and the key's Mamba state encoded by a
 * {@link io.flinkmamba.state.StateCodec}. Written by {@link StoredKeyStateSerializer}.
 *
 * @param layoutVersion  {@link io.flinkmamba.state.StateLayout#VERSION} the state was written with
 * @param fingerprint    the model that wrote it ({@link io.flinkmamba.model.ModelFingerprint})
 * @param codecId        {@link io.flinkmamba.state.StateCodec#id()} of {@code encodedState}
 * @param eventsSeen     events this key has stepped through since its state was last reset
 * @param lastEventTime  the key's last event on the session clock (event time, or arrival time for
 *                       processing-time sessions)
 * @param lastHidden     backbone output after the last event (d_model floats): the prediction for the next
 * @param encodedState   the encoded state
 * @param likelihood     the key's {@link io.flinkmamba.event.AnomalyLikelihood} state (event models; empty
 *                       otherwise)
 */
@Internal
public record StoredKeyState(
        int layoutVersion,
        long fingerprint,
        byte codecId,
        long eventsSeen,
        long lastEventTime,
        float[] lastHidden,
        byte[] encodedState,
        double[] likelihood) {

    public StoredKeyState {
        Objects.requireNonNull(lastHidden, "lastHidden");
        Objects.requireNonNull(encodedState, "encodedState");
        Objects.requireNonNull(likelihood, "likelihood");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StoredKeyState s && s.layoutVersion == layoutVersion && s.fingerprint == fingerprint
                && s.codecId == codecId && s.eventsSeen == eventsSeen && s.lastEventTime == lastEventTime
                && Arrays.equals(s.lastHidden, lastHidden) && Arrays.equals(s.encodedState, encodedState)
                && Arrays.equals(s.likelihood, likelihood);
    }

    @Override
    public int hashCode() {
        return Objects.hash(layoutVersion, fingerprint, codecId, eventsSeen, lastEventTime)
                + 31 * Arrays.hashCode(lastHidden) + 17 * Arrays.hashCode(encodedState) + 7 * Arrays.hashCode(likelihood);
    }

    @Override
    public String toString() {
        return "StoredKeyState{v" + layoutVersion + ", fingerprint=" + Long.toHexString(fingerprint) + ", codec="
                + codecId + ", events=" + eventsSeen + ", bytes=" + encodedState.length + "}";
    }
}
