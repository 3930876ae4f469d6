package io.flinkmamba.train;

import io.flinkmamba.event.EventSchema;
import io.flinkmamba.event.InputTransform;
import io.flinkmamba.train.SyntheticSeries.Series;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * How the shipped default event model is made: a univariate model (one numeric field, {@value #FIELD}) of
 * running-standardized values ({@link InputTransform#RUNNING_STANDARDIZED}), trained on a
 * {@link SyntheticSeries#corpus} only, so that it has seen no real or benchmark data. The same recipe
 * gives the same model bytes on the same JVM and CPU kernels (the trainer is deterministic for its seed
 * whatever the thread count).
 */
public final class DefaultModelTraining {
    public static final String FIELD = "value";
    public static final EventSchema SCHEMA = EventSchema.numeric(FIELD);
    public static final long SHIPPED_SEED = 1;
    public static final int SHIPPED_SERIES_PER_FAMILY = 20;
    public static final int SHIPPED_LENGTH = 4000;

    private DefaultModelTraining() {}

    /**
     * A recipe: the corpus ({@code seriesPerFamily} series of every family, {@code length} values each, from
     * {@code seed}) and the training options (their seed is the same).
     */
    public record Recipe(long seed, int seriesPerFamily, int length, TrainingOptions options) {
        public Recipe {
            if (seriesPerFamily < 1 || length < 2) {
                throw new IllegalArgumentException("a synthetic corpus needs at least one series per family and two"
                        + " values per series, got " + seriesPerFamily + " and " + length);
            }
        }
    }

    /** The shipped model's recipe for {@code seed} (the shipped model used {@link #SHIPPED_SEED}). */
    public static Recipe recipe(long seed) {
        return recipe(seed, SHIPPED_SERIES_PER_FAMILY, SHIPPED_LENGTH);
    }

    /** The shipped model's training options on another corpus size (smaller ones for tests and trials). */
    public static Recipe recipe(long seed, int seriesPerFamily, int length) {
        return new Recipe(seed, seriesPerFamily, length, options(seed));
    }

    /**
     * The NAB command's training settings: d_model 16, 1 layer, 3 epochs, batches of 4, learning rate 0.003,
     * 2 threads, the running standardization; the rest {@link TrainingOptions#defaults()}.
     */
    static TrainingOptions options(long seed) {
        return TrainingOptions.defaults().withDModel(16).withNLayer(1).withEpochs(3).withBatchSize(4)
                .withLearningRate(0.003).withThreads(2).withSeed(seed)
                .withInputTransform(InputTransform.RUNNING_STANDARDIZED);
    }

    /** The recipe's corpus as training sequences of raw values, one key per series. */
    public static List<TrainingSequence> sequences(Recipe recipe) {
        List<TrainingSequence> out = new ArrayList<>();
        for (Series s : SyntheticSeries.corpus(recipe.seed(), recipe.seriesPerFamily(), recipe.length())) {
            double[][] numeric = new double[s.length()][];
            for (int t = 0; t < s.length(); t++) {
                numeric[t] = new double[] {s.values()[t]};
            }
            out.add(new TrainingSequence(s.name(), numeric, null));
        }
        return out;
    }

    /** Trains the recipe's model into {@code outDir}. */
    public static TrainingResult train(Recipe recipe, Path outDir, TrainingListener listener) throws IOException {
        return EventTrainer.train(SCHEMA, sequences(recipe), recipe.options(), outDir, listener);
    }
}
