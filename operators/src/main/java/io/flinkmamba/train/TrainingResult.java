package io.flinkmamba.train;

import java.nio.file.Path;
import java.util.List;

/**
 * What {@link EventTrainer#train} produced.
 *
 * @param modelDir        the written event model (the best epoch's weights)
 * @param epochs          epochs run (fewer than asked when early stopping ended training)
 * @param trainLoss       mean training NLL per predicted event (nats) in the saved epoch
 * @param validationLoss  mean validation NLL per predicted event (nats) of the saved model, through the CPU
 *                        engine and {@link io.flinkmamba.event.EventModel#score} as the operator scores;
 *                        NaN without validation keys
 * @param curve           per epoch {train, validation}
 * @param eventsPerSecond training events (forward and backward) per second of wall time
 */
public record TrainingResult(Path modelDir, int epochs, double trainLoss, double validationLoss,
                             List<double[]> curve, double eventsPerSecond) {

    /** The contract's form, without a training speed (NaN). */
    public TrainingResult(Path modelDir, int epochs, double trainLoss, double validationLoss, List<double[]> curve) {
        this(modelDir, epochs, trainLoss, validationLoss, curve, Double.NaN);
    }
}
