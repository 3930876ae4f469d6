package io.flinkmamba.state;

import io.flinkmamba.engine.CpuEngine;
import io.flinkmamba.engine.StepBatch;
import io.flinkmamba.model.MambaConfig;
import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.model.RandomModels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.util.Locale;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Storing the state through a codec between steps (as keyed state does) drifts the outputs from a float32
 * run; over 10,000 steps that drift must stay bounded: 1e-2 relative for float16/bfloat16, 5e-2 for int8.
 */
class CodecDriftTest {
    private static final int STEPS = 10_000;
    private static final int KEYS = 8;

    @ParameterizedTest
    @CsvSource({
            "MAMBA1, FLOAT16, 1e-2", "MAMBA1, BFLOAT16, 1e-2", "MAMBA1, INT8, 5e-2",
            "MAMBA2, FLOAT16, 1e-2", "MAMBA2, BFLOAT16, 1e-2", "MAMBA2, INT8, 5e-2"})
    void outputDriftStaysBounded(LayerType layer, StateCodec codec, double limit) {
        MambaConfig config = RandomModels.config(layer, 64, 2, 0, 16);
        StateLayout layout = config.stateLayout();
        try (CpuEngine engine = new CpuEngine(RandomModels.create(config, 21, 0.1f))) {
            StepBatch exact = engine.newBatch(KEYS, StepBatch.Input.FEATURES, false);
            StepBatch stored = engine.newBatch(KEYS, StepBatch.Input.FEATURES, false);
            exact.size(KEYS);
            stored.size(KEYS);
            ByteBuffer bytes = ByteBuffer.allocate(codec.encodedSize(layout));
            SplittableRandom random = new SplittableRandom(8);
            double worst = 0;
            double sumErr = 0;
            for (int t = 0; t < STEPS; t++) {
                for (int i = 0; i < exact.features().length; i++) {
                    // A slowly varying signal plus noise, like a metric stream.
                    float v = (float) (Math.sin(t * 0.01 + i) + 0.3 * random.nextGaussian());
                    exact.features()[i] = v;
                    stored.features()[i] = v;
                }
                engine.step(exact);
                engine.step(stored);
                for (int k = 0; k < KEYS; k++) {
                    bytes.clear();
                    codec.encode(layout, stored.states(), k * layout.floatsPerKey(), bytes);
                    bytes.flip();
                    codec.decode(layout, bytes, stored.states(), k * layout.floatsPerKey());
                }
                double err = relativeError(stored.hidden(), exact.hidden());
                worst = Math.max(worst, err);
                sumErr += err;
            }
            System.out.printf(Locale.ROOT, "codec drift %s %s over %d steps: max %.3e, mean %.3e%n",
                    layer, codec, STEPS, worst, sumErr / STEPS);
            double measured = worst;
            assertTrue(measured <= limit, () -> codec + " drift " + measured + " exceeds " + limit);
        }
    }

    private static double relativeError(float[] actual, float[] expected) {
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < actual.length; i++) {
            diff += (actual[i] - expected[i]) * (double) (actual[i] - expected[i]);
            norm += expected[i] * (double) expected[i];
        }
        return Math.sqrt(diff / norm);
    }
}
