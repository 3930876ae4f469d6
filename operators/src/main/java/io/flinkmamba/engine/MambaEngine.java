package io.flinkmamba.engine;

import io.flinkmamba.model.MambaModel;
import io.flinkmamba.state.StateLayout;

import java.util.Optional;

/**
 * Steps many independent keys by one event each: the one API that the Flink operator calls and that the
 * CPU and CUDA engines implement. An engine holds prepared weights and scratch space; it is not
 * thread-safe (one per operator subtask).
 */
public interface MambaEngine extends AutoCloseable {

    MambaModel model();

    /** The layout of {@link StepBatch#states()}: one key after another, {@code floatsPerKey} each. */
    default StateLayout stateLayout() {
        return model().config().stateLayout();
    }

    /**
     * Advances the first {@code batch.size()} keys of the batch by one event each. Row b's input is
     * {@code tokens()[b]} or {@code features()[b*d_model ..]}; its state at {@code states()[b*floatsPerKey ..]}
     * is updated in place; its backbone output (after the final norm) goes to {@code hidden()[b*d_model ..]}
     * and, when the batch has logits, the LM head's output to {@code logits()[b*vocab ..]}.
     *
     * @throws IllegalArgumentException for a token id outside the vocabulary (no state is changed)
     */
    void step(StepBatch batch);

    /** Whether {@link #stepSequences} is supported. */
    default boolean stepsSequences() {
        return false;
    }

    /**
     * Advances keys by several events each in one call: row r of the batch is one event (its input, and its
     * hidden and logits outputs), applied in place to the key state {@code stateOfRow[r]} (floatsPerKey
     * floats in {@link #stateLayout()} order from index 0; the batch's own states are not used). The rows of
     * one key share its array and must come in the key's order. Equal, bit for bit, to stepping the events
     * one by one. The caller's arrays are stepped where they are, so a key's state is never copied.
     *
     * @throws UnsupportedOperationException where {@link #stepsSequences()} is false
     */
    default void stepSequences(StepBatch batch, float[][] stateOfRow) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " steps one event per key per call");
    }

    /**
     * The LM head alone: logits[r*vocab ..] for hidden[r*d_model ..], {@code r < rows}. Scores an event under the
     * prediction stored after the key's previous one.
     */
    void logits(float[] hidden, int rows, float[] logits);

    /**
     * The engine's resident state slots, where it keeps key states between calls (the CUDA engine's device
     * pool, when configured with slots); empty where states live in the caller's arrays.
     */
    default Optional<ResidentSlots> resident() {
        return Optional.empty();
    }

    /** A batch sized for this engine's model. */
    default StepBatch newBatch(int capacity, StepBatch.Input input, boolean withLogits) {
        return new StepBatch(model().config(), capacity, input, withLogits);
    }

    @Override
    void close();

    /**
     * The negative log-likelihood (nats) of {@code token} under the softmax of logits row {@code row} (of
     * {@code vocab} floats), in double: a token model's score of an event.
     */
    static double negativeLogLikelihood(float[] logits, int row, int vocab, int token) {
        int o = row * vocab;
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < vocab; j++) {
            max = Math.max(max, logits[o + j]);
        }
        double sum = 0;
        for (int j = 0; j < vocab; j++) {
            sum += Math.exp(logits[o + j] - max);
        }
        return max + Math.log(sum) - logits[o + token];
    }
}
