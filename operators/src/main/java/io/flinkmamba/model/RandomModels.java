package io.flinkmamba.model;

import io.flinkmamba.model.MambaConfig.LayerType;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Randomly initialized models, for tests, benchmarks and untrained starting points. The initialization
 * follows {@code mamba_ssm}: A_log = log(1..d_state) (Mamba-1) or log of uniform [1, 16] per head
 * (Mamba-2), dt_bias the inverse softplus of a log-uniform dt in [0.001, 0.1], D = 1, linear weights
 * uniform in +-1/sqrt(fan_in); norms start at 1, and {@code perturb} adds noise of that size to every
 * norm, bias and A_log so that tests exercise them.
 */
public final class RandomModels {
    private RandomModels() {}

    /** A token language model config with mamba_ssm defaults for everything not given. */
    public static MambaConfig config(LayerType layer, int dModel, int nLayer, int vocabSize, int dState) {
        if (layer == LayerType.MAMBA1) {
            return new MambaConfig(layer, dModel, nLayer, vocabSize, dState, 4, 2, (dModel + 15) / 16, 0, 0,
                    false, false, false, true, 1e-5f, false, true, true);
        }
        return new MambaConfig(layer, dModel, nLayer, vocabSize, dState, 4, 2, 0, Math.min(16, 2 * dModel), 1,
                true, false, false, true, 1e-5f, false, true, true);
    }

    public static MambaModel create(MambaConfig c, long seed, float perturb) {
        SplittableRandom random = new SplittableRandom(seed);
        int d = c.dModel();
        int di = c.dInner();
        float[] embedding = c.hasLmHead() ? normal(random, c.vocabSize() * d, 1f) : null;
        List<LayerWeights> layers = new ArrayList<>();
        for (int l = 0; l < c.nLayer(); l++) {
            float[] aLog;
            float[] dtBias;
            if (c.layer() == LayerType.MAMBA1) {
                aLog = new float[di * c.dState()];
                for (int i = 0; i < aLog.length; i++) {
                    aLog[i] = (float) Math.log(1 + i % c.dState()) + jitter(random, perturb);
                }
                dtBias = dtBias(random, di);
            } else {
                aLog = new float[c.nHeads()];
                for (int h = 0; h < aLog.length; h++) {
                    aLog[h] = (float) Math.log(1 + 15 * random.nextDouble());
                }
                dtBias = dtBias(random, c.nHeads());
            }
            int dLength = c.layer() == LayerType.MAMBA1 || c.dHasHdim() ? di : c.nHeads();
            layers.add(new LayerWeights(
                    around(random, d, 1f, perturb),
                    c.rmsNorm() ? null : around(random, d, 0f, perturb),
                    uniform(random, c.inProjSize() * d, d),
                    c.projBias() ? around(random, c.inProjSize(), 0f, perturb) : null,
                    uniform(random, c.convChannels() * c.dConv(), c.dConv()),
                    c.convBias() ? around(random, c.convChannels(), 0f, Math.max(perturb, 0.1f)) : null,
                    c.layer() == LayerType.MAMBA1 ? uniform(random, c.xProjSize() * di, di) : null,
                    c.layer() == LayerType.MAMBA1 ? uniform(random, di * c.dtRank(), c.dtRank()) : null,
                    dtBias,
                    aLog,
                    around(random, dLength, 1f, perturb),
                    c.layer() == LayerType.MAMBA2 && c.gatedRmsNorm() ? around(random, di, 1f, perturb) : null,
                    uniform(random, d * di, di),
                    c.projBias() ? around(random, d, 0f, perturb) : null));
        }
        float[] lmHead = c.hasLmHead() ? embedding : null;
        return new MambaModel(c, embedding, layers, around(random, d, 1f, perturb),
                c.rmsNorm() ? null : around(random, d, 0f, perturb), lmHead);
    }

    private static float[] dtBias(SplittableRandom random, int n) {
        float[] bias = new float[n];
        for (int i = 0; i < n; i++) {
            double dt = Math.exp(Math.log(0.001) + random.nextDouble() * (Math.log(0.1) - Math.log(0.001)));
            bias[i] = (float) (dt + Math.log(-Math.expm1(-dt))); // inverse of softplus
        }
        return bias;
    }

    /** {@code n} weights uniform in +-1/sqrt(fanIn), PyTorch's default initialization of a linear layer. */
    public static float[] uniform(SplittableRandom random, int n, int fanIn) {
        float bound = (float) (1 / Math.sqrt(fanIn));
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            w[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
        }
        return w;
    }

    private static float[] normal(SplittableRandom random, int n, float std) {
        float[] w = new float[n];
        for (int i = 0; i < n; i += 2) {
            double u = 1 - random.nextDouble();
            double v = random.nextDouble();
            double radius = std * Math.sqrt(-2 * Math.log(u));
            w[i] = (float) (radius * Math.cos(2 * Math.PI * v));
            if (i + 1 < n) {
                w[i + 1] = (float) (radius * Math.sin(2 * Math.PI * v));
            }
        }
        return w;
    }

    private static float[] around(SplittableRandom random, int n, float center, float perturb) {
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            w[i] = center + jitter(random, perturb);
        }
        return w;
    }

    private static float jitter(SplittableRandom random, float size) {
        return size == 0 ? 0f : (float) ((random.nextDouble() * 2 - 1) * size);
    }
}
