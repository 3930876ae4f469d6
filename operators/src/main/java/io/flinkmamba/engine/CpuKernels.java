package io.flinkmamba.engine;

/**
 * The loops that take the CPU engine's time: the projections ({@link #matmul}), the dt softplus
 * ({@link #softplus}), the decay factors e^(delta*A) ({@link #decays}), the selective state update
 * ({@link #updateRows}, and Mamba-1's {@link #selectiveUpdate} with its decays fused in), the causal conv and
 * SiLU ({@link #convSilu}), Mamba-1's skip and gate ({@link #skipGate}) and the trainer's {@link #axpy}.
 * {@link ScalarCpuKernels} is the plain reference; {@link VectorCpuKernels} computes the same with the JDK's
 * incubating Vector API (SIMD exp, register-blocked products), which the JVM offers only when started with
 * {@code --add-modules jdk.incubator.vector}. The two agree bit for bit in softplus, decays, convSilu,
 * skipGate and axpy, but only to a few float ulps in matmul, updateRows and selectiveUpdate (the state
 * updates sum over the state in another order), so one job's JVMs should all run with the module or all
 * without it.
 */
interface CpuKernels {

    /**
     * c[i][j] = bias[j] + sum_k a[i][k] * w[j][k] for i < m, j < w.out, over the first w.in columns of a;
     * a and c are row-major at the given offsets and row strides; bias may be null.
     */
    void matmul(float[] a, int aOff, int lda, int m, PackedWeight w, float[] bias, float[] c, int cOff, int ldc);

    /** dt[off + i] = softplus(dt[off + i] + bias[i]) for i < n. */
    void softplus(float[] dt, int off, float[] bias, int n);

    /** decay[ch*ds + n] = e^(delta[deltaOff + ch] * a[ch*ds + n]) for ch < channels, n < ds. */
    void decays(float[] delta, int deltaOff, float[] a, float[] decay, int channels, int ds);

    /**
     * The selective state update of {@code channels} consecutive channels that share B and C: for each
     * channel ch, h[ch][n] = h[ch][n] * decay[ch][n] + B[n] * deltaX[ch] and y[ch] = sum_n h[ch][n] * C[n];
     * h rows start at {@code h[ho]}, decay rows at {@code decay[0]}, each {@code ds} long; B is at
     * {@code bc[bo..]} and C at {@code bc[co..]}.
     */
    void updateRows(float[] h, int ho, float[] decay, float[] bc, int bo, int co, float[] deltaX, int dxOff,
                    float[] y, int yOff, int channels, int ds);

    /**
     * Causal depthwise conv of one row, then SiLU: out[i] = SiLU(bias[i] + sum over t &lt; k-1 of
     * taps[t][i] * window[t][i] + taps[k-1][i] * in[i]), summed in that order, for i &lt; channels; taps are
     * tap-major ({@code taps[t*channels + i]}), the window's k-1 past inputs time-major from
     * {@code window[windowOff]}; bias may be null. The window itself is left as it is.
     */
    void convSilu(float[] taps, float[] bias, float[] window, int windowOff, float[] in, int inOff, float[] out,
                  int outOff, int channels, int k);

    /**
     * The Mamba-1 selective state update of {@code channels} channels with their own decays: for each channel
     * ch, with d = delta[deltaOff + ch], h[ch][n] = h[ch][n] * e^(d * a[ch][n]) + B[n] * (d * x[xOff + ch])
     * and y[ch] = sum_n h[ch][n] * C[n], n &lt; ds. The same values as {@link #decays} followed by {@link #updateRows},
     * without the decays going through memory.
     */
    void selectiveUpdate(float[] h, int ho, float[] a, float[] delta, int deltaOff, float[] x, int xOff, float[] bc,
                         int bo, int co, float[] y, int yOff, int channels, int ds);

    /**
     * The Mamba-1 output: y[yOff + i] = (y[yOff + i] + skip[i] * x[xOff + i]) * SiLU(z[zOff + i]) for i &lt; n;
     * z must not overlap the y range (the vector kernel may write y before it reads z).
     */
    void skipGate(float[] y, int yOff, float[] skip, float[] x, int xOff, float[] z, int zOff, int n);

    /** y[yOff + i] += alpha * x[xOff + i] for i &lt; n (the trainer's backward products). */
    void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n);

    /** The Vector API kernels when this JVM has the module, else the scalar ones. */
    static CpuKernels best() {
        return VECTOR_API ? new VectorCpuKernels() : new ScalarCpuKernels();
    }

    /** Whether this JVM was started with the Vector API module; VectorCpuKernels is loaded only if so. */
    boolean VECTOR_API = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
}
