package io.flinkmamba.engine;

import java.util.Arrays;

/** The reference {@link CpuKernels}: plain float32 loops. */
final class ScalarCpuKernels implements CpuKernels {

    /** Rows go in pairs so that each weight element loaded serves two rows. */
    @Override
    public void matmul(float[] a, int aOff, int lda, int m, PackedWeight w, float[] bias,
                       float[] c, int cOff, int ldc) {
        float[] acc0 = new float[PackedWeight.COLUMN_BLOCK];
        float[] acc1 = new float[PackedWeight.COLUMN_BLOCK];
        for (int b = 0; b < w.blocks.length; b++) {
            float[][] rows = w.blocks[b];
            int j0 = b * PackedWeight.COLUMN_BLOCK;
            int width = rows[0].length;
            int i = 0;
            for (; i + 1 < m; i += 2) {
                rowPair(a, aOff + i * lda, aOff + (i + 1) * lda, rows, w.in, width, bias, j0, acc0, acc1);
                System.arraycopy(acc0, 0, c, cOff + i * ldc + j0, width);
                System.arraycopy(acc1, 0, c, cOff + (i + 1) * ldc + j0, width);
            }
            if (i < m) {
                // The odd row is paired with itself; its twin result is discarded.
                rowPair(a, aOff + i * lda, aOff + i * lda, rows, w.in, width, bias, j0, acc0, acc1);
                System.arraycopy(acc0, 0, c, cOff + i * ldc + j0, width);
            }
        }
    }

    /** acc0 = bias + row p of a times the block, acc1 the same for row q. */
    private static void rowPair(float[] a, int p, int q, float[][] rows, int k, int width, float[] bias, int j0,
                                float[] acc0, float[] acc1) {
        if (bias != null) {
            System.arraycopy(bias, j0, acc0, 0, width);
            System.arraycopy(bias, j0, acc1, 0, width);
        } else {
            Arrays.fill(acc0, 0, width, 0f);
            Arrays.fill(acc1, 0, width, 0f);
        }
        int kk = 0;
        for (; kk + 1 < k; kk += 2) {
            float p0 = a[p + kk];
            float p1 = a[p + kk + 1];
            float q0 = a[q + kk];
            float q1 = a[q + kk + 1];
            float[] w0 = rows[kk];
            float[] w1 = rows[kk + 1];
            for (int j = 0; j < width; j++) {
                float x0 = w0[j];
                float x1 = w1[j];
                acc0[j] = Math.fma(p1, x1, Math.fma(p0, x0, acc0[j]));
                acc1[j] = Math.fma(q1, x1, Math.fma(q0, x0, acc1[j]));
            }
        }
        if (kk < k) {
            float p0 = a[p + kk];
            float q0 = a[q + kk];
            float[] w0 = rows[kk];
            for (int j = 0; j < width; j++) {
                acc0[j] = Math.fma(p0, w0[j], acc0[j]);
                acc1[j] = Math.fma(q0, w0[j], acc1[j]);
            }
        }
    }

    @Override
    public void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        for (int i = 0; i < n; i++) {
            y[yOff + i] = Math.fma(alpha, x[xOff + i], y[yOff + i]); // as the vector kernel, bit for bit
        }
    }

    @Override
    public void softplus(float[] dt, int off, float[] bias, int n) {
        for (int i = 0; i < n; i++) {
            dt[off + i] = CpuMath.softplus(dt[off + i] + bias[i]);
        }
    }

    @Override
    public void decays(float[] delta, int deltaOff, float[] a, float[] decay, int channels, int ds) {
        for (int ch = 0; ch < channels; ch++) {
            float d = delta[deltaOff + ch];
            int o = ch * ds;
            for (int n = 0; n < ds; n++) {
                decay[o + n] = CpuMath.exp(d * a[o + n]);
            }
        }
    }

    @Override
    public void convSilu(float[] taps, float[] bias, float[] window, int windowOff, float[] in, int inOff, float[] out,
                         int outOff, int channels, int k) {
        convSiluChannels(0, channels, taps, bias, window, windowOff, in, inOff, out, outOff, channels, k);
    }

    /** {@link #convSilu} for channels from (inclusive) to to (exclusive): the vector kernel's tail. */
    static void convSiluChannels(int from, int to, float[] taps, float[] bias, float[] window, int windowOff,
                                 float[] in, int inOff, float[] out, int outOff, int channels, int k) {
        for (int i = from; i < to; i++) {
            float acc = bias == null ? 0f : bias[i];
            for (int t = 0; t < k - 1; t++) {
                acc += taps[t * channels + i] * window[windowOff + t * channels + i];
            }
            acc += taps[(k - 1) * channels + i] * in[inOff + i];
            out[outOff + i] = CpuMath.silu(acc);
        }
    }

    @Override
    public void selectiveUpdate(float[] h, int ho, float[] a, float[] delta, int deltaOff, float[] x, int xOff,
                                float[] bc, int bo, int co, float[] y, int yOff, int channels, int ds) {
        float[] decay = new float[ds];
        for (int ch = 0; ch < channels; ch++) {
            float d = delta[deltaOff + ch];
            for (int n = 0; n < ds; n++) {
                decay[n] = CpuMath.exp(d * a[ch * ds + n]);
            }
            y[yOff + ch] = updateRow(h, ho + ch * ds, decay, 0, bc, bo, co, d * x[xOff + ch], ds);
        }
    }

    @Override
    public void skipGate(float[] y, int yOff, float[] skip, float[] x, int xOff, float[] z, int zOff, int n) {
        skipGateElements(0, n, y, yOff, skip, x, xOff, z, zOff);
    }

    /** {@link #skipGate} for elements from (inclusive) to to (exclusive): the vector kernel's tail. */
    static void skipGateElements(int from, int to, float[] y, int yOff, float[] skip, float[] x, int xOff, float[] z,
                                 int zOff) {
        for (int i = from; i < to; i++) {
            y[yOff + i] = (y[yOff + i] + skip[i] * x[xOff + i]) * CpuMath.silu(z[zOff + i]);
        }
    }

    @Override
    public void updateRows(float[] h, int ho, float[] decay, float[] bc, int bo, int co, float[] deltaX, int dxOff,
                           float[] y, int yOff, int channels, int ds) {
        for (int ch = 0; ch < channels; ch++) {
            y[yOff + ch] = updateRow(h, ho + ch * ds, decay, ch * ds, bc, bo, co, deltaX[dxOff + ch], ds);
        }
    }

    private static float updateRow(float[] h, int ho, float[] decay, int decayOff, float[] bc, int bo, int co,
                                   float deltaX, int ds) {
        // Four interleaved partial sums let the additions overlap.
        float y0 = 0f;
        float y1 = 0f;
        float y2 = 0f;
        float y3 = 0f;
        int n = 0;
        for (; n + 3 < ds; n += 4) {
            float h0 = Math.fma(h[ho + n], decay[decayOff + n], bc[bo + n] * deltaX);
            float h1 = Math.fma(h[ho + n + 1], decay[decayOff + n + 1], bc[bo + n + 1] * deltaX);
            float h2 = Math.fma(h[ho + n + 2], decay[decayOff + n + 2], bc[bo + n + 2] * deltaX);
            float h3 = Math.fma(h[ho + n + 3], decay[decayOff + n + 3], bc[bo + n + 3] * deltaX);
            h[ho + n] = h0;
            h[ho + n + 1] = h1;
            h[ho + n + 2] = h2;
            h[ho + n + 3] = h3;
            y0 = Math.fma(h0, bc[co + n], y0);
            y1 = Math.fma(h1, bc[co + n + 1], y1);
            y2 = Math.fma(h2, bc[co + n + 2], y2);
            y3 = Math.fma(h3, bc[co + n + 3], y3);
        }
        for (; n < ds; n++) {
            float h0 = Math.fma(h[ho + n], decay[decayOff + n], bc[bo + n] * deltaX);
            h[ho + n] = h0;
            y0 = Math.fma(h0, bc[co + n], y0);
        }
        return (y0 + y1) + (y2 + y3);
    }
}
