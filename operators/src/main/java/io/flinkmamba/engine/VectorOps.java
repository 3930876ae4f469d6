package io.flinkmamba.engine;

/**
 * The CPU kernels' vector operations for code outside the engine (the trainer's backward pass): SIMD
 * through the Vector API where the JVM has {@code jdk.incubator.vector}, plain loops otherwise.
 */
public final class VectorOps {
    private static final CpuKernels KERNELS = CpuKernels.best();

    private VectorOps() {}

    /** y[yOff + i] += alpha * x[xOff + i] for i &lt; n. */
    public static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        KERNELS.axpy(alpha, x, xOff, y, yOff, n);
    }
}
