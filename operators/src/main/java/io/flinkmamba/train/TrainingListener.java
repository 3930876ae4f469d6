package io.flinkmamba.train;

/** Told of the training's progress. */
@FunctionalInterface
public interface TrainingListener {

    /** After every epoch: mean training and validation NLL per predicted event (validation NaN: none). */
    void epoch(int epoch, double train, double validation);

    /** After every optimizer batch of an epoch (for live progress): batches done of the epoch's total. */
    default void batch(int epoch, int done, int total, double batchLoss) {}
}
