package io.flinkmamba.engine;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link CpuKernels} on the Vector API: register-blocked matrix products, and exp and log1p evaluated lane
 * by lane with exactly the operations of {@link CpuMath} (so they agree with it bit for bit). The JDK's
 * own {@code VectorOperators.EXP} is not used: it gives different last bits before and after C2 compiles
 * it, which would break bit-equal replays after a restart. Loaded only when the module is present.
 */
final class VectorCpuKernels implements CpuKernels {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();

    /**
     * Register-blocked: for each group of four 16-column slices of a weight block (k x 256 bytes), six rows
     * at a time accumulate in 24 vector registers over all of k (each weight vector loaded feeds six FMAs,
     * each broadcast input four; measured 72 -> 92 GFLOP/s against four rows by two slices for the medium
     * model's in_proj at 1024 rows on one AVX-512 core), then four rows by two slices twice (at most five rows
     * are left), then one at a time. A last pair of slices goes four rows by two slices (eight independent FMA
     * chains keep both FMA pipes busy through the FMA latency), a last single slice four rows by one; tail
     * columns go scalar. Every output is the same sequence of FMAs over k whichever kernel computes it, so
     * results do not depend on the row count.
     */
    @Override
    public void matmul(float[] a, int aOff, int lda, int m, PackedWeight w, float[] bias,
                       float[] c, int cOff, int ldc) {
        int k = w.in;
        for (int b = 0; b < w.blocks.length; b++) {
            float[][] rows = w.blocks[b];
            int j0 = b * PackedWeight.COLUMN_BLOCK;
            int width = rows[0].length;
            int vectorWidth = SPECIES.loopBound(width);
            for (int j = 0; j < vectorWidth; j += LANES) {
                int i = 0;
                if (j + 3 * LANES < vectorWidth) {
                    for (; i + 5 < m; i += 6) {
                        sixRowsFourSlices(a, aOff + i * lda, lda, rows, k, j, bias, j0, c,
                                cOff + i * ldc + j0 + j, ldc);
                    }
                    for (; i + 3 < m; i += 4) {
                        for (int pair = 0; pair < 4; pair += 2) {
                            int jp = j + pair * LANES;
                            fourRowsTwoSlices(a, aOff + i * lda, lda, rows, k, jp, bias, j0, c,
                                    cOff + i * ldc + j0 + jp, ldc);
                        }
                    }
                    for (; i < m; i++) {
                        for (int slice = 0; slice < 4; slice++) {
                            int js = j + slice * LANES;
                            oneRow(a, aOff + i * lda, rows, k, js, bias, j0, c, cOff + i * ldc + j0 + js);
                        }
                    }
                    j += 3 * LANES;
                    continue;
                }
                if (j + LANES < vectorWidth) {
                    for (; i + 3 < m; i += 4) {
                        fourRowsTwoSlices(a, aOff + i * lda, lda, rows, k, j, bias, j0, c, cOff + i * ldc + j0 + j,
                                ldc);
                    }
                    for (; i < m; i++) {
                        oneRow(a, aOff + i * lda, rows, k, j, bias, j0, c, cOff + i * ldc + j0 + j);
                        oneRow(a, aOff + i * lda, rows, k, j + LANES, bias, j0, c, cOff + i * ldc + j0 + j + LANES);
                    }
                    j += LANES;
                    continue;
                }
                for (; i + 3 < m; i += 4) {
                    fourRows(a, aOff + i * lda, lda, rows, k, j, bias, j0, c, cOff + i * ldc + j0 + j, ldc);
                }
                for (; i < m; i++) {
                    oneRow(a, aOff + i * lda, rows, k, j, bias, j0, c, cOff + i * ldc + j0 + j);
                }
            }
            for (int i = 0; i < m && vectorWidth < width; i++) {
                int p0 = aOff + i * lda;
                for (int j = vectorWidth; j < width; j++) {
                    float acc = bias == null ? 0f : bias[j0 + j];
                    for (int kk = 0; kk < k; kk++) {
                        acc = Math.fma(a[p0 + kk], rows[kk][j], acc);
                    }
                    c[cOff + i * ldc + j0 + j] = acc;
                }
            }
        }
    }

    // The microkernels are methods of their own so that C2 compiles each with its own profile: inlined
    // into one loop nest, a path that was cold when it compiled stayed slow (measured: 2x at batch 4).

    /** Four rows of a against one 16-column slice of a weight block, accumulated in registers over k. */
    private static void fourRows(float[] a, int p0, int lda, float[][] rows, int k, int j, float[] bias, int j0,
                                 float[] c, int o, int ldc) {
        FloatVector init = bias == null ? FloatVector.zero(SPECIES) : FloatVector.fromArray(SPECIES, bias, j0 + j);
        int p1 = p0 + lda;
        int p2 = p1 + lda;
        int p3 = p2 + lda;
        FloatVector c0 = init;
        FloatVector c1 = init;
        FloatVector c2 = init;
        FloatVector c3 = init;
        for (int kk = 0; kk < k; kk++) {
            FloatVector wv = FloatVector.fromArray(SPECIES, rows[kk], j);
            c0 = wv.fma(FloatVector.broadcast(SPECIES, a[p0 + kk]), c0);
            c1 = wv.fma(FloatVector.broadcast(SPECIES, a[p1 + kk]), c1);
            c2 = wv.fma(FloatVector.broadcast(SPECIES, a[p2 + kk]), c2);
            c3 = wv.fma(FloatVector.broadcast(SPECIES, a[p3 + kk]), c3);
        }
        c0.intoArray(c, o);
        c1.intoArray(c, o + ldc);
        c2.intoArray(c, o + 2 * ldc);
        c3.intoArray(c, o + 3 * ldc);
    }

    /** Four rows of a against two adjacent 16-column slices of a weight block. */
    private static void fourRowsTwoSlices(float[] a, int p0, int lda, float[][] rows, int k, int j, float[] bias,
                                          int j0, float[] c, int o, int ldc) {
        FloatVector initA = bias == null ? FloatVector.zero(SPECIES) : FloatVector.fromArray(SPECIES, bias, j0 + j);
        FloatVector initB = bias == null ? FloatVector.zero(SPECIES)
                : FloatVector.fromArray(SPECIES, bias, j0 + j + LANES);
        int p1 = p0 + lda;
        int p2 = p1 + lda;
        int p3 = p2 + lda;
        FloatVector c0 = initA;
        FloatVector c1 = initA;
        FloatVector c2 = initA;
        FloatVector c3 = initA;
        FloatVector d0 = initB;
        FloatVector d1 = initB;
        FloatVector d2 = initB;
        FloatVector d3 = initB;
        for (int kk = 0; kk < k; kk++) {
            float[] row = rows[kk];
            FloatVector wa = FloatVector.fromArray(SPECIES, row, j);
            FloatVector wb = FloatVector.fromArray(SPECIES, row, j + LANES);
            FloatVector x0 = FloatVector.broadcast(SPECIES, a[p0 + kk]);
            FloatVector x1 = FloatVector.broadcast(SPECIES, a[p1 + kk]);
            FloatVector x2 = FloatVector.broadcast(SPECIES, a[p2 + kk]);
            FloatVector x3 = FloatVector.broadcast(SPECIES, a[p3 + kk]);
            c0 = wa.fma(x0, c0);
            d0 = wb.fma(x0, d0);
            c1 = wa.fma(x1, c1);
            d1 = wb.fma(x1, d1);
            c2 = wa.fma(x2, c2);
            d2 = wb.fma(x2, d2);
            c3 = wa.fma(x3, c3);
            d3 = wb.fma(x3, d3);
        }
        c0.intoArray(c, o);
        d0.intoArray(c, o + LANES);
        c1.intoArray(c, o + ldc);
        d1.intoArray(c, o + ldc + LANES);
        c2.intoArray(c, o + 2 * ldc);
        d2.intoArray(c, o + 2 * ldc + LANES);
        c3.intoArray(c, o + 3 * ldc);
        d3.intoArray(c, o + 3 * ldc + LANES);
    }

    /** Six rows of a against four adjacent 16-column slices: 24 accumulators, each weight load feeds 6 FMAs. */
    private static void sixRowsFourSlices(float[] a, int p0, int lda, float[][] rows, int k, int j, float[] bias,
                                          int j0, float[] c, int o, int ldc) {
        FloatVector initA = bias == null ? FloatVector.zero(SPECIES)
                : FloatVector.fromArray(SPECIES, bias, j0 + j);
        FloatVector initB = bias == null ? FloatVector.zero(SPECIES)
                : FloatVector.fromArray(SPECIES, bias, j0 + j + LANES);
        FloatVector initC = bias == null ? FloatVector.zero(SPECIES)
                : FloatVector.fromArray(SPECIES, bias, j0 + j + 2 * LANES);
        FloatVector initD = bias == null ? FloatVector.zero(SPECIES)
                : FloatVector.fromArray(SPECIES, bias, j0 + j + 3 * LANES);
        int p1 = p0 + lda;
        int p2 = p1 + lda;
        int p3 = p2 + lda;
        int p4 = p3 + lda;
        int p5 = p4 + lda;
        FloatVector a0 = initA;
        FloatVector a1 = initA;
        FloatVector a2 = initA;
        FloatVector a3 = initA;
        FloatVector a4 = initA;
        FloatVector a5 = initA;
        FloatVector b0 = initB;
        FloatVector b1 = initB;
        FloatVector b2 = initB;
        FloatVector b3 = initB;
        FloatVector b4 = initB;
        FloatVector b5 = initB;
        FloatVector c0 = initC;
        FloatVector c1 = initC;
        FloatVector c2 = initC;
        FloatVector c3 = initC;
        FloatVector c4 = initC;
        FloatVector c5 = initC;
        FloatVector d0 = initD;
        FloatVector d1 = initD;
        FloatVector d2 = initD;
        FloatVector d3 = initD;
        FloatVector d4 = initD;
        FloatVector d5 = initD;
        for (int kk = 0; kk < k; kk++) {
            float[] row = rows[kk];
            FloatVector wa = FloatVector.fromArray(SPECIES, row, j);
            FloatVector wb = FloatVector.fromArray(SPECIES, row, j + LANES);
            FloatVector wc = FloatVector.fromArray(SPECIES, row, j + 2 * LANES);
            FloatVector wd = FloatVector.fromArray(SPECIES, row, j + 3 * LANES);
            FloatVector x = FloatVector.broadcast(SPECIES, a[p0 + kk]);
            a0 = wa.fma(x, a0);
            b0 = wb.fma(x, b0);
            c0 = wc.fma(x, c0);
            d0 = wd.fma(x, d0);
            x = FloatVector.broadcast(SPECIES, a[p1 + kk]);
            a1 = wa.fma(x, a1);
            b1 = wb.fma(x, b1);
            c1 = wc.fma(x, c1);
            d1 = wd.fma(x, d1);
            x = FloatVector.broadcast(SPECIES, a[p2 + kk]);
            a2 = wa.fma(x, a2);
            b2 = wb.fma(x, b2);
            c2 = wc.fma(x, c2);
            d2 = wd.fma(x, d2);
            x = FloatVector.broadcast(SPECIES, a[p3 + kk]);
            a3 = wa.fma(x, a3);
            b3 = wb.fma(x, b3);
            c3 = wc.fma(x, c3);
            d3 = wd.fma(x, d3);
            x = FloatVector.broadcast(SPECIES, a[p4 + kk]);
            a4 = wa.fma(x, a4);
            b4 = wb.fma(x, b4);
            c4 = wc.fma(x, c4);
            d4 = wd.fma(x, d4);
            x = FloatVector.broadcast(SPECIES, a[p5 + kk]);
            a5 = wa.fma(x, a5);
            b5 = wb.fma(x, b5);
            c5 = wc.fma(x, c5);
            d5 = wd.fma(x, d5);
        }
        a0.intoArray(c, o);
        b0.intoArray(c, o + LANES);
        c0.intoArray(c, o + 2 * LANES);
        d0.intoArray(c, o + 3 * LANES);
        a1.intoArray(c, o + ldc);
        b1.intoArray(c, o + ldc + LANES);
        c1.intoArray(c, o + ldc + 2 * LANES);
        d1.intoArray(c, o + ldc + 3 * LANES);
        a2.intoArray(c, o + 2 * ldc);
        b2.intoArray(c, o + 2 * ldc + LANES);
        c2.intoArray(c, o + 2 * ldc + 2 * LANES);
        d2.intoArray(c, o + 2 * ldc + 3 * LANES);
        a3.intoArray(c, o + 3 * ldc);
        b3.intoArray(c, o + 3 * ldc + LANES);
        c3.intoArray(c, o + 3 * ldc + 2 * LANES);
        d3.intoArray(c, o + 3 * ldc + 3 * LANES);
        a4.intoArray(c, o + 4 * ldc);
        b4.intoArray(c, o + 4 * ldc + LANES);
        c4.intoArray(c, o + 4 * ldc + 2 * LANES);
        d4.intoArray(c, o + 4 * ldc + 3 * LANES);
        a5.intoArray(c, o + 5 * ldc);
        b5.intoArray(c, o + 5 * ldc + LANES);
        c5.intoArray(c, o + 5 * ldc + 2 * LANES);
        d5.intoArray(c, o + 5 * ldc + 3 * LANES);
    }

    private static void oneRow(float[] a, int p0, float[][] rows, int k, int j, float[] bias, int j0, float[] c,
                               int o) {
        FloatVector c0 = bias == null ? FloatVector.zero(SPECIES) : FloatVector.fromArray(SPECIES, bias, j0 + j);
        for (int kk = 0; kk < k; kk++) {
            c0 = FloatVector.fromArray(SPECIES, rows[kk], j).fma(FloatVector.broadcast(SPECIES, a[p0 + kk]), c0);
        }
        c0.intoArray(c, o);
    }

    /** C2 does not vectorize this loop itself (x and y might be one array), so it is spelled out. */
    @Override
    public void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        FloatVector a = FloatVector.broadcast(SPECIES, alpha);
        int bound = SPECIES.loopBound(n);
        int i = 0;
        for (; i < bound; i += LANES) {
            FloatVector.fromArray(SPECIES, x, xOff + i).fma(a, FloatVector.fromArray(SPECIES, y, yOff + i))
                    .intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] = Math.fma(alpha, x[xOff + i], y[yOff + i]);
        }
    }

    private static final float EXP_MIN = -87.33654f;
    private static final float EXP_MAX = 88.37626f;
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float ROUND_MAGIC = 12582912f;

    /** e^x for x &lt;= 0, lane by lane as {@link CpuMath#exp}: 0 below its underflow limit, NaN stays NaN. */
    static FloatVector expNonPositive(FloatVector x) {
        return expInRange(x).blend(0f, x.compare(VectorOperators.LE, EXP_MIN));
    }

    /** e^x lane by lane as {@link CpuMath#exp} where EXP_MIN &lt; x &lt; EXP_MAX (its polynomial range). */
    private static FloatVector expInRange(FloatVector x) {
        FloatVector shifted = x.fma(LOG2E, ROUND_MAGIC);
        IntVector n = shifted.reinterpretAsInts().sub(0x4B400000);
        FloatVector fn = shifted.sub(ROUND_MAGIC);
        FloatVector r = fn.fma(FloatVector.broadcast(SPECIES, -LN2_LO),
                fn.fma(FloatVector.broadcast(SPECIES, -LN2_HI), x));
        // Constants through FloatVector.broadcast (force-inlined), not a helper of our own: C2 stops inlining
        // small helpers in a large compile (NodeCountInliningCutoff), and an out-of-line call boxes its vectors.
        FloatVector p = r.fma(1.9875691500e-4f, 1.3981999507e-3f);
        p = p.fma(r, FloatVector.broadcast(SPECIES, 8.3334519073e-3f));
        p = p.fma(r, FloatVector.broadcast(SPECIES, 4.1665795894e-2f));
        p = p.fma(r, FloatVector.broadcast(SPECIES, 1.6666665459e-1f));
        p = p.fma(r, FloatVector.broadcast(SPECIES, 5.0000001201e-1f));
        FloatVector er = p.mul(r).fma(r, r).add(1f);
        FloatVector scale = n.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return er.mul(scale);
    }

    /**
     * SiLU of x lane by lane as {@link CpuMath#silu}, x / (1 + e^-x), or null where a lane's e^-x is outside
     * the polynomial's range (|x| beyond about 87, or NaN): the caller then goes lane by lane.
     */
    private static FloatVector silu(FloatVector x) {
        FloatVector negX = x.neg();
        if (!negX.compare(VectorOperators.GT, EXP_MIN).and(negX.compare(VectorOperators.LT, EXP_MAX)).allTrue()) {
            return null;
        }
        return x.div(expInRange(negX).add(1f));
    }

    @Override
    public void convSilu(float[] taps, float[] bias, float[] window, int windowOff, float[] in, int inOff, float[] out,
                         int outOff, int channels, int k) {
        int bound = SPECIES.loopBound(channels);
        int last = (k - 1) * channels;
        int i = 0;
        for (; i < bound; i += LANES) {
            FloatVector acc = bias == null ? FloatVector.zero(SPECIES) : FloatVector.fromArray(SPECIES, bias, i);
            for (int t = 0; t < k - 1; t++) {
                acc = acc.add(FloatVector.fromArray(SPECIES, taps, t * channels + i)
                        .mul(FloatVector.fromArray(SPECIES, window, windowOff + t * channels + i)));
            }
            acc = acc.add(FloatVector.fromArray(SPECIES, taps, last + i)
                    .mul(FloatVector.fromArray(SPECIES, in, inOff + i)));
            FloatVector activated = silu(acc);
            if (activated != null) {
                activated.intoArray(out, outOff + i);
            } else {
                acc.intoArray(out, outOff + i);
                for (int j = i; j < i + LANES; j++) {
                    out[outOff + j] = CpuMath.silu(out[outOff + j]);
                }
            }
        }
        ScalarCpuKernels.convSiluChannels(i, channels, taps, bias, window, windowOff, in, inOff, out, outOff, channels,
                k);
    }

    @Override
    public void skipGate(float[] y, int yOff, float[] skip, float[] x, int xOff, float[] z, int zOff, int n) {
        int bound = SPECIES.loopBound(n);
        int i = 0;
        for (; i < bound; i += LANES) {
            FloatVector sum = FloatVector.fromArray(SPECIES, y, yOff + i)
                    .add(FloatVector.fromArray(SPECIES, skip, i).mul(FloatVector.fromArray(SPECIES, x, xOff + i)));
            FloatVector gate = silu(FloatVector.fromArray(SPECIES, z, zOff + i));
            if (gate != null) {
                sum.mul(gate).intoArray(y, yOff + i);
            } else {
                sum.intoArray(y, yOff + i);
                for (int j = i; j < i + LANES; j++) {
                    y[yOff + j] *= CpuMath.silu(z[zOff + j]);
                }
            }
        }
        ScalarCpuKernels.skipGateElements(i, n, y, yOff, skip, x, xOff, z, zOff);
    }

    /** log(1 + u) for u in [0, 1], lane by lane as {@link CpuMath#log1p}. */
    static FloatVector log1p(FloatVector u) {
        FloatVector s = u.div(u.add(2f));
        FloatVector z = s.mul(s);
        FloatVector p = z.fma(1f / 15, 1f / 13);
        p = p.fma(z, FloatVector.broadcast(SPECIES, 1f / 11));
        p = p.fma(z, FloatVector.broadcast(SPECIES, 1f / 9));
        p = p.fma(z, FloatVector.broadcast(SPECIES, 1f / 7));
        p = p.fma(z, FloatVector.broadcast(SPECIES, 1f / 5));
        p = p.fma(z, FloatVector.broadcast(SPECIES, 1f / 3));
        return s.mul(z).fma(p, s).mul(2f);
    }

    @Override
    public void softplus(float[] dt, int off, float[] bias, int n) {
        int i = 0;
        for (; i < SPECIES.loopBound(n); i += LANES) {
            FloatVector x = FloatVector.fromArray(SPECIES, dt, off + i).add(FloatVector.fromArray(SPECIES, bias, i));
            // softplus(x) = max(x, 0) + log1p(e^-|x|); the identity above 20, as in the reference.
            FloatVector soft = x.max(0f).add(log1p(expNonPositive(x.abs().neg())));
            soft.blend(x, x.compare(VectorOperators.GT, 20f)).intoArray(dt, off + i);
        }
        for (; i < n; i++) {
            dt[off + i] = CpuMath.softplus(dt[off + i] + bias[i]);
        }
    }

    /** The decays e^(delta*A) are at most 1: delta is a softplus (positive) and A = -exp(A_log). */
    @Override
    public void decays(float[] delta, int deltaOff, float[] a, float[] decay, int channels, int ds) {
        int bound = SPECIES.loopBound(ds);
        for (int ch = 0; ch < channels; ch++) {
            float d = delta[deltaOff + ch];
            int o = ch * ds;
            int n = 0;
            for (; n < bound; n += LANES) {
                expNonPositive(FloatVector.fromArray(SPECIES, a, o + n).mul(d)).intoArray(decay, o + n);
            }
            for (; n < ds; n++) {
                decay[o + n] = CpuMath.exp(d * a[o + n]);
            }
        }
    }

    /** {@link #decays} and {@link #updateRows} in one pass: each channel's decays stay in a register. */
    @Override
    public void selectiveUpdate(float[] h, int ho, float[] a, float[] delta, int deltaOff, float[] x, int xOff,
                                float[] bc, int bo, int co, float[] y, int yOff, int channels, int ds) {
        int bound = SPECIES.loopBound(ds);
        for (int ch = 0; ch < channels; ch++) {
            float d = delta[deltaOff + ch];
            float dx = d * x[xOff + ch];
            int hr = ho + ch * ds;
            int ar = ch * ds;
            FloatVector acc = FloatVector.zero(SPECIES);
            int n = 0;
            for (; n < bound; n += LANES) {
                FloatVector decay = expNonPositive(FloatVector.fromArray(SPECIES, a, ar + n).mul(d));
                FloatVector state = FloatVector.fromArray(SPECIES, h, hr + n)
                        .fma(decay, FloatVector.fromArray(SPECIES, bc, bo + n).mul(dx));
                state.intoArray(h, hr + n);
                acc = state.fma(FloatVector.fromArray(SPECIES, bc, co + n), acc);
            }
            float sum = acc.reduceLanes(VectorOperators.ADD);
            for (; n < ds; n++) {
                float state = Math.fma(h[hr + n], CpuMath.exp(d * a[ar + n]), bc[bo + n] * dx);
                h[hr + n] = state;
                sum = Math.fma(state, bc[co + n], sum);
            }
            y[yOff + ch] = sum;
        }
    }

    @Override
    public void updateRows(float[] h, int ho, float[] decay, float[] bc, int bo, int co, float[] deltaX, int dxOff,
                           float[] y, int yOff, int channels, int ds) {
        int bound = SPECIES.loopBound(ds);
        for (int ch = 0; ch < channels; ch++) {
            float dx = deltaX[dxOff + ch];
            int hr = ho + ch * ds;
            int dr = ch * ds;
            FloatVector acc = FloatVector.zero(SPECIES);
            int n = 0;
            for (; n < bound; n += LANES) {
                FloatVector state = FloatVector.fromArray(SPECIES, h, hr + n)
                        .fma(FloatVector.fromArray(SPECIES, decay, dr + n),
                                FloatVector.fromArray(SPECIES, bc, bo + n).mul(dx));
                state.intoArray(h, hr + n);
                acc = state.fma(FloatVector.fromArray(SPECIES, bc, co + n), acc);
            }
            float sum = acc.reduceLanes(VectorOperators.ADD);
            for (; n < ds; n++) {
                float state = Math.fma(h[hr + n], decay[dr + n], bc[bo + n] * dx);
                h[hr + n] = state;
                sum = Math.fma(state, bc[co + n], sum);
            }
            y[yOff + ch] = sum;
        }
    }
}
