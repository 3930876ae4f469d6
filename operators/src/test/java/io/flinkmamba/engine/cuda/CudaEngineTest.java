package io.flinkmamba.engine.cuda;

import io.flinkmamba.engine.CpuEngine;
import io.flinkmamba.engine.ReferenceCheck;
import io.flinkmamba.engine.StepBatch;
import io.flinkmamba.model.MambaConfig;
import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.model.MambaModel;
import io.flinkmamba.model.RandomModels;
import io.flinkmamba.state.StateCodec;
import io.flinkmamba.state.StateLayout;
import io.flinkmamba.testing.SharedData;
import io.flinkmamba.testing.RequiresCudaDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CUDA kernels against the CPU engine (their reference): random models of both layer types and odd
 * sizes, batches of 1 to 100k keys, each state storage type. Skipped where there is no CUDA device.
 */
@RequiresCudaDevice
class CudaEngineTest {

    static Stream<Arguments> cases() {
        MambaConfig m1 = new MambaConfig(LayerType.MAMBA1, 37, 2, 29, 7, 4, 2, 3, 0, 0, false, false, false, false,
                1e-5f, true, true, true);
        MambaConfig m1Features = new MambaConfig(LayerType.MAMBA1, 64, 2, 0, 16, 4, 2, 4, 0, 0, false, false, false,
                true, 1e-5f, false, true, true);
        MambaConfig m2 = new MambaConfig(LayerType.MAMBA2, 36, 2, 31, 9, 4, 2, 0, 8, 3, true, false, true, true, 1e-5f,
                false, true, true);
        MambaConfig m2Large = new MambaConfig(LayerType.MAMBA2, 64, 2, 0, 64, 4, 2, 0, 32, 2, true, true, false, true,
                1e-5f, false, true, true);
        // dt_rank above CudaEngine.MAX_FUSED_DT_RANK (dt_proj as its own product), and rows of 1,444 values:
        // 16-byte words for float32 states, but the 16-bit states' rows only 8-byte aligned (scalar kernels).
        MambaConfig m1WideDt = new MambaConfig(LayerType.MAMBA1, 38, 1, 0, 16, 4, 2, 20, 0, 0, false, false, false,
                true, 1e-5f, false, true, true);
        Stream.Builder<Arguments> cases = Stream.builder();
        for (MambaConfig config : new MambaConfig[] {m1, m1Features, m1WideDt, m2, m2Large}) {
            for (StateCodec storage : new StateCodec[] {StateCodec.FLOAT32, StateCodec.FLOAT16, StateCodec.BFLOAT16}) {
                for (int batch : new int[] {1, 7, 1000}) {
                    cases.add(Arguments.of(config, storage, batch));
                }
            }
        }
        return cases.build();
    }

    @ParameterizedTest
    @MethodSource("cases")
    void kernelsMatchTheCpuEngine(MambaConfig config, StateCodec storage, int batchSize) {
        compare(config, storage, batchSize, 4);
    }

    /** TF32 products (matmul precision HIGH) stay within 5e-3 of the float32 CPU engine, states and outputs. */
    @ParameterizedTest
    @MethodSource("cases")
    void tf32ProductsStayWithinTheirTolerance(MambaConfig config, StateCodec storage, int batchSize) {
        compare(config, storage, batchSize, 4, MatmulPrecision.HIGH, storage == StateCodec.FLOAT32 ? 5e-3 : 2e-2);
    }

    @Test
    void batchesAboveTheGridLimitOf65535Rows() {
        compare(RandomModels.config(LayerType.MAMBA1, 16, 1, 0, 16), StateCodec.FLOAT32, 100_000, 2);
        compare(RandomModels.config(LayerType.MAMBA2, 16, 1, 0, 16), StateCodec.FLOAT16, 100_000, 2);
    }

    /**
     * Steps the same random inputs through both engines. With 16-bit storage the CPU side stores its states
     * through the matching codec (the same round-to-nearest-even) after every step, so both see the same
     * rounding.
     */
    private static void compare(MambaConfig config, StateCodec storage, int batchSize, int steps) {
        compare(config, storage, batchSize, steps, MatmulPrecision.HIGHEST, storage == StateCodec.FLOAT32 ? 1e-4 : 2e-2);
    }

    private static void compare(MambaConfig config, StateCodec storage, int batchSize, int steps,
                                MatmulPrecision precision, double tolerance) {
        MambaModel model = RandomModels.create(config, 17, 0.2f);
        StateLayout layout = config.stateLayout();
        boolean tokens = config.hasLmHead();
        StepBatch.Input input = tokens ? StepBatch.Input.TOKENS : StepBatch.Input.FEATURES;
        SplittableRandom random = new SplittableRandom(batchSize);
        try (CpuEngine cpu = new CpuEngine(model); CudaEngine gpu = new CudaEngine(model, 0, storage, 0, precision)) {
            StepBatch expected = cpu.newBatch(batchSize, input, tokens);
            StepBatch actual = gpu.newBatch(batchSize, input, tokens);
            expected.size(batchSize);
            actual.size(batchSize);
            ByteBuffer codec = ByteBuffer.allocate(storage.encodedSize(layout));
            for (int t = 0; t < steps; t++) {
                if (tokens) {
                    for (int r = 0; r < batchSize; r++) {
                        expected.tokens()[r] = actual.tokens()[r] = random.nextInt(config.vocabSize());
                    }
                } else {
                    for (int i = 0; i < expected.features().length; i++) {
                        expected.features()[i] = actual.features()[i] = (float) random.nextGaussian();
                    }
                }
                cpu.step(expected);
                gpu.step(actual);
                if (storage != StateCodec.FLOAT32) {
                    for (int r = 0; r < batchSize; r++) {
                        codec.clear();
                        storage.encode(layout, expected.states(), r * layout.floatsPerKey(), codec);
                        codec.flip();
                        storage.decode(layout, codec, expected.states(), r * layout.floatsPerKey());
                    }
                }
                String what = String.format(Locale.ROOT, "%s %s %s batch %d step %d", config.layer(), storage,
                        precision, batchSize, t);
                assertClose(expected.hidden(), actual.hidden(), tolerance, what + " hidden");
                assertClose(expected.states(), actual.states(), tolerance, what + " states");
                if (tokens) {
                    assertClose(expected.logits(), actual.logits(), tolerance, what + " logits");
                }
            }
        }
    }

    private static void assertClose(float[] expected, float[] actual, double tolerance, String what) {
        double error = ReferenceCheck.relativeError(actual, expected);
        assertTrue(error <= tolerance, () -> what + ": relative error " + error + " > " + tolerance);
    }

    /** Also a step split over two streams, right after slot moves queued on the first. */
    @ParameterizedTest
    @ValueSource(ints = {50, CudaEngine.SPLIT_ROWS + 7})
    void residentSlotsStepInPlaceLikeHandedOverStates(int keys) {
        MambaConfig config = RandomModels.config(LayerType.MAMBA1, 32, 2, 0, 16);
        MambaModel model = RandomModels.create(config, 3, 0.1f);
        int written = keys + 100;
        int pool = written + 50;
        int floats = config.stateLayout().floatsPerKey();
        try (CudaEngine gpu = new CudaEngine(model, 0, StateCodec.FLOAT32, pool)) {
            StepBatch handed = gpu.newBatch(keys, StepBatch.Input.FEATURES, false);
            StepBatch resident = gpu.newBatch(keys, StepBatch.Input.FEATURES, false);
            handed.size(keys);
            resident.size(keys);
            int[] slots = new int[written];
            float[] states = new float[written * floats];
            SplittableRandom random = new SplittableRandom(4);
            for (int i = 0; i < written; i++) {
                slots[i] = pool - 1 - i; // any slots, in any order
            }
            for (int i = 0; i < states.length; i++) {
                states[i] = (float) random.nextGaussian() * 0.1f;
            }
            System.arraycopy(states, 0, handed.states(), 0, keys * floats);
            gpu.stepResident(resident, slots); // scratch for `keys` rows: the states below move in chunks
            gpu.writeSlots(slots, written, states);
            for (int t = 0; t < 3; t++) {
                for (int i = 0; i < handed.features().length; i++) {
                    handed.features()[i] = resident.features()[i] = (float) random.nextGaussian();
                }
                gpu.step(handed);
                gpu.stepResident(resident, slots);
                assertArrayEquals(handed.hidden(), resident.hidden(), "hidden at step " + t);
            }
            float[] back = new float[written * floats];
            gpu.readSlots(slots, written, back);
            assertArrayEquals(java.util.Arrays.copyOf(handed.states(), keys * floats),
                    java.util.Arrays.copyOf(back, keys * floats), "stepped slots");
            assertArrayEquals(java.util.Arrays.copyOfRange(states, keys * floats, states.length),
                    java.util.Arrays.copyOfRange(back, keys * floats, back.length), "slots not stepped");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"mamba1-tiny", "mamba1-layernorm", "mamba2-tiny"})
    void officialReferenceVectors(String name) throws Exception {
        ReferenceCheck.Result result = ReferenceCheck.run(SharedData.require("testdata/mamba-reference/" + name),
                model -> new CudaEngine(model, 0, StateCodec.FLOAT32, 0));
        System.out.printf(Locale.ROOT, "cuda reference %s: max_rel_err %.3e %s%n", name, result.maxRelativeError(),
                result.comparisons());
        assertTrue(result.passed(), result.comparisons()::toString);
    }
}
