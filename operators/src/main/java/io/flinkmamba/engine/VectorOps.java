package io.flinkmamba.engine;

/**
 * The CPU kernels' vector operations for code outside the engine (the trainer): SIMD
 * through the Vector API where the JVM has {@code jdk.incubator.vector}, plain loops otherwise.
 */
public final class VectorOps {
    private static final CpuKernels KERNELS = CpuKernels.best();

    private VectorOps() {}

    /** dt[off + i] = softplus(dt[off + i] + bias[i]) for i &lt; n, as the engine computes dt. */
    public static void softplus(float[] dt, int off, float[] bias, int n) {
        KERNELS.softplus(dt, off, bias, n);
    }

    /** decay[ch*ds + n] = e^(delta[deltaOff + ch] * a[ch*ds + n]), as the engine computes the decays. */
    public static void decays(float[] delta, int deltaOff, float[] a, float[] decay, int channels, int ds) {
        KERNELS.decays(delta, deltaOff, a, decay, channels, ds);
    }

    /** y[yOff + i] += alpha * x[xOff + i] for i &lt; n. */
    public static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        KERNELS.axpy(alpha, x, xOff, y, yOff, n);
    }
}
