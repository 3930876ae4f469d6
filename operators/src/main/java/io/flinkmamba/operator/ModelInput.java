package io.flinkmamba.operator;

import org.apache.flink.annotation.PublicEvolving;

import java.util.Arrays;

/**
 * Where an {@link InputEncoder} writes one event's model input: a token id for a model with a vocabulary,
 * or d_model float features for a model fed vectors. Reused between events.
 */
@PublicEvolving
public final class ModelInput {
    private final boolean tokens;
    private final float[] features;
    private int token = -1;

    ModelInput(boolean tokens, int dModel) {
        this.tokens = tokens;
        this.features = tokens ? null : new float[dModel];
    }

    /** Whether the model takes token ids (else features). */
    public boolean takesTokens() {
        return tokens;
    }

    /** Sets the event's token id (token models). */
    public void token(int id) {
        if (!tokens) {
            throw new IllegalStateException("this model takes float features, not token ids");
        }
        this.token = id;
    }

    /** The d_model features to fill (feature models); zero on entry. */
    public float[] features() {
        if (tokens) {
            throw new IllegalStateException("this model takes token ids, not float features");
        }
        return features;
    }

    int token() {
        return token;
    }

    void reset() {
        token = -1;
        if (features != null) {
            Arrays.fill(features, 0f);
        }
    }
}
