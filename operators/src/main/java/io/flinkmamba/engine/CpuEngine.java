package io.flinkmamba.engine;

import io.flinkmamba.model.LayerWeights;
import io.flinkmamba.model.MambaConfig;
import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.model.MambaModel;
import io.flinkmamba.state.StateLayout;

import java.util.Arrays;

/**
 * The whole recurrent Mamba model on the CPU, in float32, readable in one place.
 *
 * <p>Rows are processed together through every projection (one matrix product per projection per layer),
 * and one at a time, in order, through the conv and SSM updates, each against the state its row names.
 * The same code runs three ways:
 * <ul>
 *   <li>{@link #step}: row b is a key with its own state;</li>
 *   <li>{@link #forward}: row t is position t of one key's sequence, all rows on one state, processed layer
 *       by layer over the whole sequence, as the reference's full forward does;</li>
 *   <li>{@link #stepSequences}: the rows are several keys' events, each key's in order.</li>
 * </ul>
 * Per layer, in the reference's order: residual add, norm, in_proj, causal conv + SiLU, the selective
 * state update, gating (Mamba-2: gated RMSNorm), out_proj; after the last layer the residual add, the
 * final norm and the LM head. Residuals are float32. The hot loops run in {@link CpuKernels}: SIMD through
 * the JDK's Vector API when the JVM has {@code jdk.incubator.vector}, plain Java otherwise.
 */
public final class CpuEngine implements MambaEngine {
    private final MambaModel model;
    private final MambaConfig c;
    private final StateLayout layout;
    private final Layer[] layers;
    private final PackedWeight lmHead;
    private final CpuKernels kernels;
    private Scratch scratch;
    private float[][] rowStates = new float[0][];
    private int[] stateOffsets = new int[0];

    /** A layer's weights, with the projections packed for {@link CpuKernels#matmul} and A precomputed. */
    private static final class Layer {
        final LayerWeights w;
        final PackedWeight inProj;
        final PackedWeight xProj;
        final PackedWeight dtProj;
        final PackedWeight outProj;
        final float[] a;
        /** The conv weight tap-major, {@code convTaps[t*channels + i]}, as {@link CpuKernels#convSilu} takes it. */
        final float[] convTaps;

        Layer(MambaConfig c, LayerWeights w) {
            this.w = w;
            this.inProj = new PackedWeight(w.inProj(), c.inProjSize(), c.dModel());
            this.outProj = new PackedWeight(w.outProj(), c.dModel(), c.dInner());
            this.xProj = w.xProj() == null ? null : new PackedWeight(w.xProj(), c.xProjSize(), c.dInner());
            this.dtProj = w.dtProj() == null ? null : new PackedWeight(w.dtProj(), c.dInner(), c.dtRank());
            this.a = new float[w.aLog().length];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) -Math.exp(w.aLog()[i]);
            }
            int channels = c.convChannels();
            int k = c.dConv();
            this.convTaps = new float[channels * k];
            for (int i = 0; i < channels; i++) {
                for (int t = 0; t < k; t++) {
                    convTaps[t * channels + i] = w.conv()[i * k + t];
                }
            }
        }
    }

    /** Activations for up to {@code rows} rows, grown on demand. */
    private final class Scratch {
        final int rows;
        final float[] residual;
        final float[] normed;
        final float[] inProj;
        final float[] convOut;
        final float[] xProj;
        final float[] dt;
        final float[] y;
        final float[] mixerOut;
        /** Mamba-2 only: one head's decays and delta * x (Mamba-1 fuses them into selectiveUpdate). */
        final float[] decay;
        final float[] deltaX;

        Scratch(int rows) {
            this.rows = rows;
            int d = c.dModel();
            residual = new float[rows * d];
            normed = new float[rows * d];
            inProj = new float[rows * c.inProjSize()];
            convOut = new float[rows * c.convChannels()];
            xProj = c.layer() == LayerType.MAMBA1 ? new float[rows * c.xProjSize()] : null;
            dt = c.layer() == LayerType.MAMBA1 ? new float[rows * c.dInner()] : null;
            y = new float[rows * c.dInner()];
            mixerOut = new float[rows * d];
            decay = c.layer() == LayerType.MAMBA2 ? new float[c.headDim() * c.dState()] : null;
            deltaX = c.layer() == LayerType.MAMBA2 ? new float[c.headDim()] : null;
        }
    }

    public CpuEngine(MambaModel model) {
        this(model, CpuKernels.best());
    }

    /** Whether this JVM runs the SIMD kernels (started with {@code --add-modules jdk.incubator.vector}). */
    public static boolean simdKernels() {
        return CpuKernels.VECTOR_API;
    }

    CpuEngine(MambaModel model, CpuKernels kernels) {
        this.kernels = kernels;
        this.model = model;
        this.c = model.config();
        this.layout = c.stateLayout();
        this.layers = new Layer[c.nLayer()];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = new Layer(c, model.layers().get(i));
        }
        this.lmHead = c.hasLmHead() ? new PackedWeight(model.lmHead(), c.vocabSize(), c.dModel()) : null;
        this.scratch = new Scratch(0);
    }

    @Override
    public MambaModel model() {
        return model;
    }

    @Override
    public void step(StepBatch batch) {
        int rows = batch.size();
        growRows(rows);
        for (int r = 0; r < rows; r++) {
            rowStates[r] = batch.states();
            stateOffsets[r] = r * layout.floatsPerKey();
        }
        run(rows, batch.input() == StepBatch.Input.TOKENS ? batch.tokens() : null, batch.features(), rowStates,
                stateOffsets, batch.hidden(), batch.logits());
    }

    @Override
    public boolean stepsSequences() {
        return true;
    }

    /**
     * Layer by layer over all the events at once: every projection is one matrix product over all rows
     * (however skewed the keys), and the conv and state updates go row by row in order, so each key's
     * events advance its state one after the other: bit-equal to stepping them one at a time.
     */
    @Override
    public void stepSequences(StepBatch batch, float[][] stateOfRow) {
        int rows = batch.size();
        growRows(rows);
        for (int r = 0; r < rows; r++) {
            if (stateOfRow[r].length < layout.floatsPerKey()) {
                throw new IllegalArgumentException("row " + r + "'s state has " + stateOfRow[r].length
                        + " floats, the model's layout " + layout.floatsPerKey());
            }
            stateOffsets[r] = 0;
        }
        run(rows, batch.input() == StepBatch.Input.TOKENS ? batch.tokens() : null, batch.features(), stateOfRow,
                stateOffsets, batch.hidden(), batch.logits());
    }

    private void growRows(int rows) {
        if (stateOffsets.length < rows) {
            stateOffsets = new int[rows];
            rowStates = new float[rows][];
        }
    }

    @Override
    public void logits(float[] hidden, int rows, float[] logits) {
        if (lmHead == null) {
            throw new IllegalStateException("the model has no LM head");
        }
        kernels.matmul(hidden, 0, c.dModel(), rows, lmHead, null, logits, 0, c.vocabSize());
    }

    /**
     * Runs one key's whole sequence of {@code length} events through the model layer by layer, starting
     * from {@code state} (updated in place to the state after the last event). Equal to stepping the key
     * event by event.
     *
     * @param tokens   token ids, or null when {@code features} holds length x d_model floats
     * @param hidden   receives length x d_model backbone outputs
     * @param logits   receives length x vocab logits, or null
     */
    public void forward(int length, int[] tokens, float[] features, float[] state, float[] hidden, float[] logits) {
        growRows(length);
        Arrays.fill(rowStates, 0, length, state);
        Arrays.fill(stateOffsets, 0, length, 0);
        run(length, tokens, features, rowStates, stateOffsets, hidden, logits);
    }

    @Override
    public void close() {
        scratch = new Scratch(0);
    }

    /** Runs {@code rows} events; row r's state starts at {@code states[r][stateOffset[r]]}. */
    private void run(int rows, int[] tokens, float[] features, float[][] states, int[] stateOffset,
                     float[] hidden, float[] logits) {
        if (rows == 0) {
            return;
        }
        if (scratch.rows < rows) {
            scratch = new Scratch(rows);
        }
        Scratch s = scratch;
        int d = c.dModel();
        embed(rows, tokens, features, s.residual);
        for (int l = 0; l < layers.length; l++) {
            Layer layer = layers[l];
            if (l > 0) {
                addInPlace(s.residual, s.mixerOut, rows * d);
            }
            norm(rows, s.residual, layer.w.norm(), layer.w.normBias(), s.normed);
            kernels.matmul(s.normed, 0, d, rows, layer.inProj, layer.w.inProjBias(), s.inProj, 0, c.inProjSize());
            if (c.layer() == LayerType.MAMBA1) {
                mamba1(rows, layer, l, states, stateOffset, s);
            } else {
                mamba2(rows, layer, l, states, stateOffset, s);
            }
            kernels.matmul(s.y, 0, c.dInner(), rows, layer.outProj, layer.w.outProjBias(), s.mixerOut, 0, d);
        }
        addInPlace(s.residual, s.mixerOut, rows * d);
        norm(rows, s.residual, model.normF(), model.normFBias(), hidden);
        if (logits != null) {
            kernels.matmul(hidden, 0, d, rows, lmHead, null, logits, 0, c.vocabSize());
        }
    }

    private void embed(int rows, int[] tokens, float[] features, float[] out) {
        int d = c.dModel();
        if (tokens == null) {
            System.arraycopy(features, 0, out, 0, rows * d);
            return;
        }
        for (int r = 0; r < rows; r++) {
            if (tokens[r] < 0 || tokens[r] >= c.vocabSize()) {
                throw new IllegalArgumentException("token id " + tokens[r] + " at row " + r
                        + " is outside the vocabulary 0.." + (c.vocabSize() - 1));
            }
        }
        for (int r = 0; r < rows; r++) {
            System.arraycopy(model.embedding(), tokens[r] * d, out, r * d, d);
        }
    }

    /** Mamba-1 mixer after in_proj: conv, x_proj, dt_proj, selective state update, SiLU(z) gate. */
    private void mamba1(int rows, Layer layer, int l, float[][] states, int[] stateOffset, Scratch s) {
        int di = c.dInner();
        int ds = c.dState();
        int inSize = c.inProjSize();
        int xps = c.xProjSize();
        for (int r = 0; r < rows; r++) {
            conv(layer, s.inProj, r * inSize, states[r], stateOffset[r] + layout.convOffset(l), s.convOut, r * di);
        }
        kernels.matmul(s.convOut, 0, di, rows, layer.xProj, null, s.xProj, 0, xps);
        kernels.matmul(s.xProj, 0, xps, rows, layer.dtProj, null, s.dt, 0, di);
        float[] dtBias = layer.w.dtBias();
        float[] skip = layer.w.d();
        for (int r = 0; r < rows; r++) {
            int ssm = stateOffset[r] + layout.ssmOffset(l);
            int xo = r * di;
            int bo = r * xps + c.dtRank();
            kernels.softplus(s.dt, xo, dtBias, di);
            kernels.selectiveUpdate(states[r], ssm, layer.a, s.dt, xo, s.convOut, xo, s.xProj, bo, bo + ds, s.y, xo, di,
                    ds);
            kernels.skipGate(s.y, xo, skip, s.convOut, xo, s.inProj, r * inSize + di, di);
        }
    }

    /** Mamba-2 mixer after in_proj: conv over xBC, per-head state update, gated RMSNorm (or SiLU gate). */
    private void mamba2(int rows, Layer layer, int l, float[][] states, int[] stateOffset, Scratch s) {
        int di = c.dInner();
        int ds = c.dState();
        int hd = c.headDim();
        int nh = c.nHeads();
        int inSize = c.inProjSize();
        int convCh = c.convChannels();
        int headsPerGroup = nh / c.nGroups();
        float[] dtBias = layer.w.dtBias();
        float[] skip = layer.w.d();
        for (int r = 0; r < rows; r++) {
            int state = stateOffset[r];
            int xbc = r * convCh;
            conv(layer, s.inProj, r * inSize + di, states[r], state + layout.convOffset(l), s.convOut, xbc);
            int ssm = state + layout.ssmOffset(l);
            int dto = r * inSize + di + convCh;
            for (int h = 0; h < nh; h++) {
                float delta = CpuMath.softplus(s.inProj[dto + h] + dtBias[h]);
                Arrays.fill(s.decay, 0, hd * ds, CpuMath.exp(delta * layer.a[h]));
                int g = h / headsPerGroup;
                int bo = xbc + di + g * ds;
                int co = xbc + di + c.nGroups() * ds + g * ds;
                for (int p = 0; p < hd; p++) {
                    s.deltaX[p] = delta * s.convOut[xbc + h * hd + p];
                }
                kernels.updateRows(states[r], ssm + h * hd * ds, s.decay, s.convOut, bo, co, s.deltaX, 0, s.y,
                        r * di + h * hd, hd, ds);
                for (int p = 0; p < hd; p++) {
                    int ch = h * hd + p;
                    s.y[r * di + ch] += skip[c.dHasHdim() ? ch : h] * s.convOut[xbc + ch];
                }
            }
            gate(layer.w.gatedNorm(), s.y, r * di, s.inProj, r * inSize);
        }
    }

    /**
     * Causal depthwise conv of one row: out = SiLU(bias + sum of the window's dConv-1 past inputs and the
     * new input, each times its tap), then the window shifts by one row and takes the new input.
     */
    private void conv(Layer layer, float[] in, int inOff, float[] states, int window, float[] out, int outOff) {
        int ch = c.convChannels();
        int k = c.dConv();
        kernels.convSilu(layer.convTaps, layer.w.convBias(), states, window, in, inOff, out, outOff, ch, k);
        System.arraycopy(states, window + ch, states, window, (k - 2) * ch);
        System.arraycopy(in, inOff, states, window + (k - 2) * ch, ch);
    }

    /** Mamba-2 output gating: y * SiLU(z), with RMSNorm per group before or after when configured. */
    private void gate(float[] normWeight, float[] y, int yOff, float[] z, int zOff) {
        int di = c.dInner();
        if (normWeight == null) {
            for (int i = 0; i < di; i++) {
                y[yOff + i] *= CpuMath.silu(z[zOff + i]);
            }
            return;
        }
        int groupSize = di / c.nGroups();
        for (int g = 0; g < c.nGroups(); g++) {
            int start = yOff + g * groupSize;
            if (!c.normBeforeGate()) {
                for (int i = 0; i < groupSize; i++) {
                    y[start + i] *= CpuMath.silu(z[zOff + g * groupSize + i]);
                }
            }
            double sumSq = 0;
            for (int i = 0; i < groupSize; i++) {
                sumSq += (double) y[start + i] * y[start + i];
            }
            float rstd = (float) (1.0 / Math.sqrt(sumSq / groupSize + c.normEps()));
            for (int i = 0; i < groupSize; i++) {
                int ch = g * groupSize + i;
                float v = y[start + i] * rstd * normWeight[ch];
                y[start + i] = c.normBeforeGate() ? v * CpuMath.silu(z[zOff + ch]) : v;
            }
        }
    }

    /** RMSNorm (bias == null) or LayerNorm of each row. */
    private void norm(int rows, float[] in, float[] weight, float[] bias, float[] out) {
        int d = c.dModel();
        for (int r = 0; r < rows; r++) {
            int o = r * d;
            double mean = 0;
            if (bias != null) {
                for (int i = 0; i < d; i++) {
                    mean += in[o + i];
                }
                mean /= d;
            }
            double sumSq = 0;
            for (int i = 0; i < d; i++) {
                double v = in[o + i] - mean;
                sumSq += v * v;
            }
            float rstd = (float) (1.0 / Math.sqrt(sumSq / d + c.normEps()));
            float m = (float) mean;
            for (int i = 0; i < d; i++) {
                float v = (in[o + i] - m) * rstd * weight[i];
                out[o + i] = bias == null ? v : v + bias[i];
            }
        }
    }

    private static void addInPlace(float[] acc, float[] add, int n) {
        for (int i = 0; i < n; i++) {
            acc[i] += add[i];
        }
    }
}
