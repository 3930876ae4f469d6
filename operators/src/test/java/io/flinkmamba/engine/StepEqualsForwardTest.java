package io.flinkmamba.engine;

import io.flinkmamba.model.MambaConfig;
import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.model.MambaModel;
import io.flinkmamba.model.RandomModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Stepping keys batched event by event equals running each key's whole sequence through the layer-by-layer
 * forward, bit for bit: a row's arithmetic never depends on which other keys share its batch.
 */
class StepEqualsForwardTest {

    static Stream<MambaConfig> oddModels() {
        return Stream.of(
                // layer, d_model, n_layer, vocab, d_state, d_conv, expand, dt_rank, headdim, ngroups,
                // gated norm, norm before gate, D per channel, rms norm, eps, proj bias, conv bias, tie
                new MambaConfig(LayerType.MAMBA1, 37, 3, 29, 7, 4, 2, 3, 0, 0, false, false, false, true, 1e-5f,
                        false, true, true),
                new MambaConfig(LayerType.MAMBA1, 21, 2, 0, 5, 2, 3, 2, 0, 0, false, false, false, false, 1e-5f,
                        true, false, false),
                new MambaConfig(LayerType.MAMBA1, 50, 1, 13, 16, 5, 1, 4, 0, 0, false, false, false, false, 1e-6f,
                        false, true, true),
                new MambaConfig(LayerType.MAMBA2, 36, 2, 31, 9, 4, 2, 0, 8, 3, true, false, false, true, 1e-5f,
                        false, true, true),
                new MambaConfig(LayerType.MAMBA2, 30, 2, 0, 6, 3, 2, 0, 5, 2, true, true, true, false, 1e-5f,
                        true, false, false),
                new MambaConfig(LayerType.MAMBA2, 24, 3, 17, 4, 4, 2, 0, 12, 1, false, false, false, true, 1e-5f,
                        false, true, true));
    }

    @ParameterizedTest
    @MethodSource("oddModels")
    void batchedSteppingEqualsFullForward(MambaConfig config) {
        MambaModel model = RandomModels.create(config, 11, 0.2f);
        SplittableRandom random = new SplittableRandom(5);
        int keys = 7;
        int[] lengths = new int[keys];
        for (int k = 0; k < keys; k++) {
            lengths[k] = 1 + random.nextInt(30);
        }
        boolean tokens = config.hasLmHead();
        int d = config.dModel();
        int[][] ids = new int[keys][];
        float[][] features = new float[keys][];
        for (int k = 0; k < keys; k++) {
            ids[k] = random.ints(lengths[k], 0, Math.max(1, config.vocabSize())).toArray();
            features[k] = new float[lengths[k] * d];
            for (int i = 0; i < features[k].length; i++) {
                features[k][i] = (float) random.nextGaussian();
            }
        }

        int floats = config.stateLayout().floatsPerKey();
        float[][] stepped = new float[keys][floats];
        float[][] steppedHidden = new float[keys][];
        float[][] steppedLogits = new float[keys][];
        for (int k = 0; k < keys; k++) {
            steppedHidden[k] = new float[lengths[k] * d];
            steppedLogits[k] = new float[lengths[k] * Math.max(0, config.vocabSize())];
        }
        try (CpuEngine engine = new CpuEngine(model)) {
            StepBatch batch = engine.newBatch(keys, tokens ? StepBatch.Input.TOKENS : StepBatch.Input.FEATURES, tokens);
            // Step t holds exactly the keys that have a t-th event, so batch membership changes over time.
            for (int t = 0; t < 30; t++) {
                int rows = 0;
                int[] rowKey = new int[keys];
                for (int k = 0; k < keys; k++) {
                    if (t < lengths[k]) {
                        rowKey[rows] = k;
                        if (tokens) {
                            batch.tokens()[rows] = ids[k][t];
                        } else {
                            System.arraycopy(features[k], t * d, batch.features(), rows * d, d);
                        }
                        System.arraycopy(stepped[k], 0, batch.states(), rows * floats, floats);
                        rows++;
                    }
                }
                batch.size(rows);
                engine.step(batch);
                for (int r = 0; r < rows; r++) {
                    int k = rowKey[r];
                    System.arraycopy(batch.states(), r * floats, stepped[k], 0, floats);
                    System.arraycopy(batch.hidden(), r * d, steppedHidden[k], t * d, d);
                    if (tokens) {
                        int v = config.vocabSize();
                        System.arraycopy(batch.logits(), r * v, steppedLogits[k], t * v, v);
                    }
                }
            }

            for (int k = 0; k < keys; k++) {
                float[] state = new float[floats];
                float[] hidden = new float[lengths[k] * d];
                float[] logits = tokens ? new float[lengths[k] * config.vocabSize()] : null;
                engine.forward(lengths[k], tokens ? ids[k] : null, tokens ? null : features[k], state, hidden, logits);
                assertArrayEquals(state, stepped[k], "state of key " + k);
                assertArrayEquals(hidden, steppedHidden[k], "hidden of key " + k);
                if (tokens) {
                    assertArrayEquals(logits, steppedLogits[k], "logits of key " + k);
                }
                for (float v : hidden) {
                    assertTrue(Float.isFinite(v));
                }
            }

            // All events in one stepSequences call, each key's rows in order on its own array, keys interleaved.
            int total = Arrays.stream(lengths).sum();
            StepBatch all = engine.newBatch(total, tokens ? StepBatch.Input.TOKENS : StepBatch.Input.FEATURES, tokens);
            float[][] sequenced = new float[keys][floats];
            float[][] stateOfRow = new float[total][];
            int[] rowKey = new int[total];
            int[] rowEvent = new int[total];
            int[] next = new int[keys];
            int row = 0;
            while (row < total) {
                int k = random.nextInt(keys);
                if (next[k] == lengths[k]) {
                    continue;
                }
                int t = next[k]++;
                if (tokens) {
                    all.tokens()[row] = ids[k][t];
                } else {
                    System.arraycopy(features[k], t * d, all.features(), row * d, d);
                }
                stateOfRow[row] = sequenced[k];
                rowKey[row] = k;
                rowEvent[row++] = t;
            }
            all.size(total);
            engine.stepSequences(all, stateOfRow);
            for (int k = 0; k < keys; k++) {
                assertArrayEquals(stepped[k], sequenced[k], "stepSequences state of key " + k);
            }
            for (int r = 0; r < total; r++) {
                assertArrayEquals(Arrays.copyOfRange(steppedHidden[rowKey[r]], rowEvent[r] * d, (rowEvent[r] + 1) * d),
                        Arrays.copyOfRange(all.hidden(), r * d, (r + 1) * d), "stepSequences hidden of row " + r);
            }
        }
    }

    @Test
    void unknownTokenIsRejectedAndNoStateChanges() {
        MambaConfig config = RandomModels.config(LayerType.MAMBA1, 16, 1, 10, 4);
        try (CpuEngine engine = new CpuEngine(RandomModels.create(config, 1, 0f))) {
            StepBatch batch = engine.newBatch(2, StepBatch.Input.TOKENS, false);
            batch.size(2);
            Arrays.fill(batch.states(), 0.5f);
            batch.tokens()[0] = 3;
            batch.tokens()[1] = 10;
            float[] before = batch.states().clone();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> engine.step(batch));
            assertTrue(e.getMessage().contains("token id 10 at row 1"), e.getMessage());
            assertArrayEquals(before, batch.states());
        }
    }
}
