package io.flinkmamba.event;

import io.flinkmamba.model.MambaConfig;
import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.model.MambaModel;
import io.flinkmamba.model.RandomModels;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Randomly initialized event models: the trainer's starting point, and models for tests. The backbone is a
 * feature-input Mamba-1 from {@link RandomModels}; the encoder is uniform in +-1/sqrt(F), the category
 * embedding standard normal, the heads uniform in +-1/sqrt(d_model) with zero biases (so every prediction
 * starts near mean 0, variance 1 in normalized units).
 */
public final class EventModels {
    private EventModels() {}

    /** A random event model with normalization mean 0 and std 1 for every numeric field. */
    public static EventModel random(EventSchema schema, int dModel, int nLayer, int dState, long seed) {
        float[] mean = new float[schema.numericCount()];
        float[] std = new float[schema.numericCount()];
        Arrays.fill(std, 1f);
        return random(schema, mean, std, dModel, nLayer, dState, seed);
    }

    /** A random event model with the given normalization. */
    public static EventModel random(EventSchema schema, float[] mean, float[] std, int dModel, int nLayer, int dState,
                                    long seed) {
        MambaConfig config = RandomModels.config(LayerType.MAMBA1, dModel, nLayer, 0, dState);
        MambaModel backbone = RandomModels.create(config, seed, 0f);
        SplittableRandom random = new SplittableRandom(seed ^ 0x5DEECE66DL);
        int f = schema.numericCount();
        int k = schema.categoryCount();
        return new EventModel(schema, mean.clone(), std.clone(), backbone,
                f == 0 ? null : RandomModels.uniform(random, dModel * f, f),
                new float[dModel],
                k == 0 ? null : normal(random, k * dModel),
                f == 0 ? null : RandomModels.uniform(random, 2 * f * dModel, dModel),
                f == 0 ? null : new float[2 * f],
                k == 0 ? null : RandomModels.uniform(random, k * dModel, dModel),
                k == 0 ? null : new float[k], InputTransform.NONE);
    }

    /** Writes {@link #random(EventSchema, int, int, int, long)} to {@code outDir} and returns it. */
    public static EventModel random(EventSchema schema, int dModel, int nLayer, int dState, long seed, Path outDir)
            throws IOException {
        EventModel model = random(schema, dModel, nLayer, dState, seed);
        model.write(outDir);
        return model;
    }

    private static float[] normal(SplittableRandom random, int n) {
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            w[i] = (float) gaussian(random);
        }
        return w;
    }

    private static double gaussian(SplittableRandom random) {
        double u = 1 - random.nextDouble();
        double v = random.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }
}
