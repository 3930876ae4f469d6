package io.flinkmamba.engine;

import io.flinkmamba.model.MambaConfig;

/**
 * Reusable, flat arrays for one engine call over up to {@code capacity} keys. The caller fills
 * {@link #size()} rows of inputs and states, calls {@link MambaEngine#step}, and reads states and outputs
 * back from the same rows.
 */
public final class StepBatch {

    /** What a row's event is fed to the model as. */
    public enum Input {
        /** A token id, looked up in the embedding. */
        TOKENS,
        /** A float vector of d_model values, fed to the first block directly. */
        FEATURES
    }

    private final Input input;
    private final int capacity;
    private final int dModel;
    private final int vocabSize;
    private final int floatsPerKey;
    private final int[] tokens;
    private final float[] features;
    /** Allocated on first use: engines that step states where they live (sequences, device slots) never use it. */
    private float[] states;
    private final float[] hidden;
    private final float[] logits;
    private int size;

    public StepBatch(MambaConfig config, int capacity, Input input, boolean withLogits) {
        if (capacity < 1) {
            throw new IllegalArgumentException("batch capacity must be positive, got " + capacity);
        }
        if (input == Input.TOKENS && !config.hasLmHead()) {
            throw new IllegalArgumentException("token inputs need a model with a vocabulary");
        }
        if (withLogits && !config.hasLmHead()) {
            throw new IllegalArgumentException("logits need a model with an LM head");
        }
        this.input = input;
        this.capacity = capacity;
        this.dModel = config.dModel();
        this.vocabSize = config.vocabSize();
        this.floatsPerKey = config.stateLayout().floatsPerKey();
        this.tokens = input == Input.TOKENS ? new int[capacity] : null;
        this.features = input == Input.FEATURES ? new float[Math.multiplyExact(capacity, dModel)] : null;
        this.hidden = new float[Math.multiplyExact(capacity, dModel)];
        this.logits = withLogits ? new float[Math.multiplyExact(capacity, vocabSize)] : null;
    }

    public Input input() { return input; }
    public int capacity() { return capacity; }
    public int dModel() { return dModel; }
    public int vocabSize() { return vocabSize; }
    public int floatsPerKey() { return floatsPerKey; }

    /** Rows in use. */
    public int size() { return size; }

    public void size(int rows) {
        if (rows < 0 || rows > capacity) {
            throw new IllegalArgumentException("batch size " + rows + " outside 0.." + capacity);
        }
        this.size = rows;
    }

    /** Token ids, one per row; null for feature inputs. */
    public int[] tokens() { return tokens; }

    /** Feature vectors, d_model per row; null for token inputs. */
    public float[] features() { return features; }

    /** Packed key states, {@code floatsPerKey} per row, in {@link io.flinkmamba.state.StateLayout} order. */
    public float[] states() {
        if (states == null) {
            states = new float[Math.multiplyExact(capacity, floatsPerKey)];
        }
        return states;
    }

    /** Backbone outputs after the final norm, d_model per row. */
    public float[] hidden() { return hidden; }

    /** LM head outputs, vocab per row; null when the batch was made without logits. */
    public float[] logits() { return logits; }

    public boolean hasLogits() { return logits != null; }
}
