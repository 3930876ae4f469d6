package io.flinkmamba.train;

import io.flinkmamba.event.InputTransform;

import java.util.Objects;

/**
 * How {@link EventTrainer} trains.
 *
 * @param dModel          backbone width
 * @param nLayer          Mamba-1 blocks
 * @param dState          SSM state size
 * @param epochs          most passes over the training keys (0 only to fine-tune: the model as it starts)
 * @param bptt            events per truncated-backpropagation stretch (the state carries on across stretches)
 * @param learningRate    peak AdamW learning rate (linear warmup over the first steps, cosine decay to 10%)
 * @param weightDecay     AdamW decoupled weight decay of the matrices (not of biases, norms, A_log, D,
 *                        embeddings)
 * @param clipNorm        global gradient norm clip (0: none)
 * @param threads         worker threads over the sequences of a batch (results do not depend on it)
 * @param seed            initialization, key split and shuffling
 * @param validationShare share of the keys held out for validation and early stopping (0: none)
 * @param patience        epochs without a better validation loss before stopping
 * @param batchSize       sequences per optimizer batch
 * @param inputTransform  what the trainer does to each sequence's raw numeric values before the model sees
 *                        them (per sequence, that is per key), declared by the trained model
 */
public record TrainingOptions(int dModel, int nLayer, int dState, int epochs, int bptt, double learningRate,
                              double weightDecay, double clipNorm, int threads, long seed,
                              double validationShare, int patience, int batchSize, InputTransform inputTransform) {

    public TrainingOptions {
        require(dModel >= 2, "d_model must be at least 2, got " + dModel);
        require(nLayer >= 1, "n_layer must be at least 1, got " + nLayer);
        require(dState >= 1, "d_state must be positive, got " + dState);
        require(epochs >= 0, "epochs must not be negative, got " + epochs);
        require(bptt >= 1, "bptt must be at least 1, got " + bptt);
        require(learningRate > 0 && Double.isFinite(learningRate), "learning rate must be positive");
        require(weightDecay >= 0, "weight decay must not be negative");
        require(clipNorm >= 0, "clip norm must not be negative");
        require(threads >= 1, "threads must be at least 1, got " + threads);
        require(validationShare >= 0 && validationShare < 1, "validation share must be in [0, 1), got " + validationShare);
        require(patience >= 1, "patience must be at least 1, got " + patience);
        require(batchSize >= 1, "batch size must be at least 1, got " + batchSize);
        Objects.requireNonNull(inputTransform, "input transform");
    }

    /** The contract's form: batches of 16 sequences, raw values ({@link InputTransform#NONE}). */
    public TrainingOptions(int dModel, int nLayer, int dState, int epochs, int bptt, double learningRate,
                           double weightDecay, double clipNorm, int threads, long seed, double validationShare,
                           int patience) {
        this(dModel, nLayer, dState, epochs, bptt, learningRate, weightDecay, clipNorm, threads, seed, validationShare,
                patience, 16, InputTransform.NONE);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException("invalid training option: " + message);
        }
    }

    /**
     * d_model 32, 2 layers, d_state 16, 20 epochs, BPTT 64, learning rate 3e-3, weight decay 0.01, clip 1.0,
     * threads = available processors, seed 42, 20% of the keys for validation, patience 3, batches of 16, raw values.
     */
    public static TrainingOptions defaults() {
        return new TrainingOptions(32, 2, 16, 20, 64, 3e-3, 0.01, 1.0, Runtime.getRuntime().availableProcessors(), 42,
                0.2, 3);
    }

    public TrainingOptions withDModel(int v) { return new TrainingOptions(v, nLayer, dState, epochs, bptt, learningRate, weightDecay, clipNorm, threads, seed, validationShare, patience, batchSize, inputTransform); }
    public TrainingOptions withNLayer(int v) { return new TrainingOptions(dModel, v, dState, epochs, bptt, learningRate, weightDecay, clipNorm, threads, seed, validationShare, patience, batchSize, inputTransform); }
    public TrainingOptions withDState(int v) { return new TrainingOptions(dModel, nLayer, v, epochs, bptt, learningRate, weightDecay, clipNorm, threads, seed, validationShare, patience, batchSize, inputTransform); }
    public TrainingOptions withEpochs(int v) { return new TrainingOptions(dModel, nLayer, dState, v, bptt, learningRate, weightDecay, clipNorm, threads, seed, validationShare, patience, batchSize, inputTransform); }
    public TrainingOptions withBptt(int v) { return new TrainingOptions(dModel, nLayer, dState, epochs, v, learningRate, weightDecay, clipNorm, threads, seed, validationShare, patience, batchSize, inputTransform); }
    public TrainingOptions withLearningRate(double v) { return new TrainingOptions(dModel, nLayer, dState, epochs, bptt, v, weightDecay, clipNorm, threads, seed, validationShare, patience, batchSize, inputTransform); }
    public TrainingOptions withWeightDecay(double v) { return new TrainingOptions(dModel, nLayer, dState, epochs, bptt, learningRate, v, clipNorm, threads, seed, validationShare, patience, batchSize, inputTransform); }
    public TrainingOptions withClipNorm(double v) { return new TrainingOptions(dModel, nLayer, dState, epochs, bptt, learningRate, weightDecay, v, threads, seed, validationShare, patience, batchSize, inputTransform); }
    public TrainingOptions withThreads(int v) { return new TrainingOptions(dModel, nLayer, dState, epochs, bptt, learningRate, weightDecay, clipNorm, v, seed, validationShare, patience, batchSize, inputTransform); }
    public TrainingOptions withSeed(long v) { return new TrainingOptions(dModel, nLayer, dState, epochs, bptt, learningRate, weightDecay, clipNorm, threads, v, validationShare, patience, batchSize, inputTransform); }
    public TrainingOptions withValidationShare(double v) { return new TrainingOptions(dModel, nLayer, dState, epochs, bptt, learningRate, weightDecay, clipNorm, threads, seed, v, patience, batchSize, inputTransform); }
    public TrainingOptions withPatience(int v) { return new TrainingOptions(dModel, nLayer, dState, epochs, bptt, learningRate, weightDecay, clipNorm, threads, seed, validationShare, v, batchSize, inputTransform); }
    public TrainingOptions withBatchSize(int v) { return new TrainingOptions(dModel, nLayer, dState, epochs, bptt, learningRate, weightDecay, clipNorm, threads, seed, validationShare, patience, v, inputTransform); }
    public TrainingOptions withInputTransform(InputTransform v) { return new TrainingOptions(dModel, nLayer, dState, epochs, bptt, learningRate, weightDecay, clipNorm, threads, seed, validationShare, patience, batchSize, v); }
}
