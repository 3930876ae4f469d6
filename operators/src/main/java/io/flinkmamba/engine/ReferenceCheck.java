package io.flinkmamba.engine;

import io.flinkmamba.model.MambaConfig;
import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.model.MambaModel;
import io.flinkmamba.model.ModelFormatException;
import io.flinkmamba.model.ModelLoader;
import io.flinkmamba.safetensors.SafetensorsException;
import io.flinkmamba.safetensors.SafetensorsFile;
import io.flinkmamba.safetensors.TensorInfo;
import io.flinkmamba.safetensors.TensorSource;
import io.flinkmamba.state.StateLayout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Compares an engine with outputs of the official implementation: a model folder with an
 * {@code expected.safetensors} holding {@code input_ids} (batch, length) and any of {@code logits_step},
 * {@code logits_full}, {@code hidden_full}, {@code layers.N.conv_state} and {@code layers.N.ssm_state}.
 * Every sequence is one key, stepped event by event from a zero state (all keys in one batch per step);
 * the full-sequence outputs come from {@link CpuEngine#forward}. Errors are relative L2 norms.
 */
public final class ReferenceCheck {

    /** Mamba-1 matches the reference's own step/scan agreement; Mamba-2's full pass is chunked, so looser. */
    public static double tolerance(MambaConfig config) {
        return config.layer() == LayerType.MAMBA1 ? 1e-5 : 1e-4;
    }

    public record Comparison(String name, double relativeError) {}

    public record Result(MambaConfig config, List<Comparison> comparisons, double tolerance) {
        public double maxRelativeError() {
            double max = 0;
            for (Comparison cmp : comparisons) {
                // NaN must fail, so it wins over any number.
                max = Double.isNaN(cmp.relativeError()) ? Double.NaN : Math.max(max, cmp.relativeError());
                if (Double.isNaN(max)) {
                    break;
                }
            }
            return max;
        }

        public boolean passed() {
            return maxRelativeError() <= tolerance;
        }
    }

    private ReferenceCheck() {}

    /**
     * Runs the check with the engine that {@code engineFactory} makes for the loaded model.
     *
     * @throws ModelFormatException when the folder, the model or the expected outputs are malformed
     */
    public static Result run(Path dir, Function<MambaModel, MambaEngine> engineFactory) throws ModelFormatException {
        Path expectedFile = dir.resolve("expected.safetensors");
        if (!Files.isRegularFile(expectedFile)) {
            throw new ModelFormatException(dir + ": no expected.safetensors");
        }
        MambaModel model = ModelLoader.load(dir);
        MambaConfig c = model.config();
        try (TensorSource expected = SafetensorsFile.open(expectedFile);
             MambaEngine engine = engineFactory.apply(model);
             CpuEngine full = new CpuEngine(model)) {
            long[] shape = shapeOf(expected, "input_ids", 2);
            int batch = Math.toIntExact(shape[0]);
            int length = Math.toIntExact(shape[1]);
            long[] ids = expected.readLongs("input_ids");
            int[][] tokens = new int[batch][length];
            for (int b = 0; b < batch; b++) {
                for (int t = 0; t < length; t++) {
                    long id = ids[b * length + t];
                    if (id < 0 || id >= c.vocabSize()) {
                        throw new ModelFormatException(expectedFile + ": input_ids[" + b + "][" + t + "] = " + id
                                + " is outside the vocabulary 0.." + (c.vocabSize() - 1));
                    }
                    tokens[b][t] = (int) id;
                }
            }
            int v = c.vocabSize();
            int d = c.dModel();
            StateLayout layout = c.stateLayout();

            // Stepped: all sequences advance together, one event per step.
            StepBatch step = engine.newBatch(batch, StepBatch.Input.TOKENS, true);
            step.size(batch);
            float[] stepLogits = new float[batch * length * v];
            for (int t = 0; t < length; t++) {
                for (int b = 0; b < batch; b++) {
                    step.tokens()[b] = tokens[b][t];
                }
                engine.step(step);
                for (int b = 0; b < batch; b++) {
                    System.arraycopy(step.logits(), b * v, stepLogits, (b * length + t) * v, v);
                }
            }

            // Full sequence, layer by layer, one key at a time.
            float[] fullLogits = new float[batch * length * v];
            float[] fullHidden = new float[batch * length * d];
            float[] fullStates = new float[batch * layout.floatsPerKey()];
            float[] state = new float[layout.floatsPerKey()];
            float[] hidden = new float[length * d];
            float[] logits = new float[length * v];
            for (int b = 0; b < batch; b++) {
                java.util.Arrays.fill(state, 0f);
                full.forward(length, tokens[b], null, state, hidden, logits);
                System.arraycopy(logits, 0, fullLogits, b * length * v, length * v);
                System.arraycopy(hidden, 0, fullHidden, b * length * d, length * d);
                System.arraycopy(state, 0, fullStates, b * layout.floatsPerKey(), layout.floatsPerKey());
            }

            List<Comparison> comparisons = new ArrayList<>();
            compare(expected, "logits_step", stepLogits, comparisons, batch, length, v);
            compare(expected, "logits_full", fullLogits, comparisons, batch, length, v);
            compare(expected, "hidden_full", fullHidden, comparisons, batch, length, d);
            for (int l = 0; l < c.nLayer(); l++) {
                compareConv(expected, l, layout, step.states(), batch, comparisons);
                compareSsm(expected, l, c, layout, step.states(), batch, comparisons);
            }
            if (comparisons.isEmpty()) {
                throw new ModelFormatException(expectedFile + ": holds no output to compare with");
            }
            return new Result(c, comparisons, tolerance(c));
        } catch (SafetensorsException e) {
            throw new ModelFormatException(e.getMessage(), e);
        }
    }

    /**
     * Writes a self-check folder for a model without official outputs: the model in the official layout
     * and an {@code expected.safetensors} whose {@code logits_step} and final states come from the
     * layer-by-layer full forward, so that {@link #run} checks stepping (all keys batched, event by event)
     * against it. The reference conv_state's oldest column, which a step no longer needs, is written as 0.
     */
    public static void writeSelfCheck(MambaModel model, Path dir, int batch, int length, long seed)
            throws java.io.IOException {
        MambaConfig c = model.config();
        if (!c.hasLmHead()) {
            throw new IllegalArgumentException("a self-check needs a token model");
        }
        io.flinkmamba.model.ModelWriter.write(model, dir, io.flinkmamba.safetensors.DType.F32);
        StateLayout layout = c.stateLayout();
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        long[] ids = new long[batch * length];
        float[] logits = new float[batch * length * c.vocabSize()];
        float[][] conv = new float[c.nLayer()][batch * layout.convChannels() * layout.dConv()];
        float[][] ssm = new float[c.nLayer()][batch * layout.ssmFloats()];
        try (CpuEngine engine = new CpuEngine(model)) {
            int[] tokens = new int[length];
            float[] state = new float[layout.floatsPerKey()];
            float[] hidden = new float[length * c.dModel()];
            float[] keyLogits = new float[length * c.vocabSize()];
            for (int b = 0; b < batch; b++) {
                for (int t = 0; t < length; t++) {
                    tokens[t] = random.nextInt(c.vocabSize());
                    ids[b * length + t] = tokens[t];
                }
                java.util.Arrays.fill(state, 0f);
                engine.forward(length, tokens, null, state, hidden, keyLogits);
                System.arraycopy(keyLogits, 0, logits, b * keyLogits.length, keyLogits.length);
                for (int l = 0; l < c.nLayer(); l++) {
                    int ch = layout.convChannels();
                    for (int i = 0; i < ch; i++) {
                        for (int t = 0; t < layout.dConv() - 1; t++) {
                            conv[l][(b * ch + i) * layout.dConv() + t + 1] = state[layout.convOffset(l) + t * ch + i];
                        }
                    }
                    System.arraycopy(state, layout.ssmOffset(l), ssm[l], b * layout.ssmFloats(), layout.ssmFloats());
                }
            }
        }
        io.flinkmamba.safetensors.SafetensorsWriter out = new io.flinkmamba.safetensors.SafetensorsWriter()
                .metadata("source", "flink-mamba full forward (self-check)")
                .addLongs("input_ids", ids, batch, length)
                .add("logits_step", io.flinkmamba.safetensors.DType.F32, logits, batch, length, c.vocabSize());
        for (int l = 0; l < c.nLayer(); l++) {
            out.add("layers." + l + ".conv_state", io.flinkmamba.safetensors.DType.F32, conv[l], batch,
                    layout.convChannels(), layout.dConv());
            long[] ssmShape = c.layer() == LayerType.MAMBA1
                    ? new long[] {batch, c.dInner(), c.dState()}
                    : new long[] {batch, c.nHeads(), c.headDim(), c.dState()};
            out.add("layers." + l + ".ssm_state", io.flinkmamba.safetensors.DType.F32, ssm[l], ssmShape);
        }
        out.write(dir.resolve("expected.safetensors"));
    }

    private static void compare(TensorSource expected, String name, float[] actual, List<Comparison> out,
                                long... shape) throws SafetensorsException, ModelFormatException {
        if (!expected.contains(name)) {
            return;
        }
        requireShape(expected, name, shape);
        out.add(new Comparison(name, relativeError(actual, expected.readFloats(name))));
    }

    /** The reference's conv_state (batch, channels, d_conv) ends with our d_conv-1 rows, transposed. */
    private static void compareConv(TensorSource expected, int layer, StateLayout layout, float[] states, int batch,
                                    List<Comparison> out) throws SafetensorsException, ModelFormatException {
        String name = "layers." + layer + ".conv_state";
        if (!expected.contains(name)) {
            return;
        }
        int ch = layout.convChannels();
        int k = layout.dConv();
        requireShape(expected, name, batch, ch, k);
        float[] reference = expected.readFloats(name);
        float[] ours = new float[batch * ch * (k - 1)];
        float[] theirs = new float[ours.length];
        for (int b = 0; b < batch; b++) {
            int base = b * layout.floatsPerKey() + layout.convOffset(layer);
            for (int i = 0; i < ch; i++) {
                for (int t = 0; t < k - 1; t++) {
                    int o = (b * ch + i) * (k - 1) + t;
                    ours[o] = states[base + t * ch + i];
                    theirs[o] = reference[(b * ch + i) * k + t + 1];
                }
            }
        }
        out.add(new Comparison(name, relativeError(ours, theirs)));
    }

    private static void compareSsm(TensorSource expected, int layer, MambaConfig c, StateLayout layout,
                                   float[] states, int batch, List<Comparison> out)
            throws SafetensorsException, ModelFormatException {
        String name = "layers." + layer + ".ssm_state";
        if (!expected.contains(name)) {
            return;
        }
        if (c.layer() == LayerType.MAMBA1) {
            requireShape(expected, name, batch, c.dInner(), c.dState());
        } else {
            requireShape(expected, name, batch, c.nHeads(), c.headDim(), c.dState());
        }
        float[] ours = new float[batch * layout.ssmFloats()];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(states, b * layout.floatsPerKey() + layout.ssmOffset(layer), ours,
                    b * layout.ssmFloats(), layout.ssmFloats());
        }
        out.add(new Comparison(name, relativeError(ours, expected.readFloats(name))));
    }

    private static long[] shapeOf(TensorSource tensors, String name, int rank)
            throws SafetensorsException, ModelFormatException {
        if (!tensors.contains(name)) {
            throw new ModelFormatException(tensors.path() + ": missing tensor " + name);
        }
        TensorInfo info = tensors.info(name);
        if (info.shape().length != rank) {
            throw new ModelFormatException(tensors.path() + ": tensor " + name + " has shape " + info.shapeString()
                    + ", expected rank " + rank);
        }
        return info.shape();
    }

    private static void requireShape(TensorSource tensors, String name, long... shape)
            throws SafetensorsException, ModelFormatException {
        TensorInfo info = tensors.info(name);
        if (!java.util.Arrays.equals(info.shape(), shape)) {
            throw new ModelFormatException(tensors.path() + ": tensor " + name + " has shape " + info.shapeString()
                    + ", expected " + java.util.Arrays.toString(shape));
        }
    }

    /** ||actual - expected|| / ||expected|| (the plain norm of the difference when expected is zero). */
    public static double relativeError(float[] actual, float[] expected) {
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < actual.length; i++) {
            double e = expected[i];
            double delta = actual[i] - e;
            diff += delta * delta;
            norm += e * e;
        }
        return norm == 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
    }
}
