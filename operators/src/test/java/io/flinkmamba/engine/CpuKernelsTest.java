package io.flinkmamba.engine;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The scalar reference kernels against plain math, and the Vector API kernels against them, on odd sizes. */
class CpuKernelsTest {
    private final CpuKernels reference = new ScalarCpuKernels();

    private static CpuKernels vector() {
        Assumptions.assumeTrue(CpuKernels.VECTOR_API, "JVM started without jdk.incubator.vector");
        return CpuKernels.best();
    }

    private static float[] randoms(SplittableRandom random, int n, double scale) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (random.nextGaussian() * scale);
        }
        return out;
    }

    /** |gaussian * scale| * factor: positive time steps (factor > 0) or negative A (factor < 0). */
    private static float[] magnitudes(SplittableRandom random, int n, double scale, float factor) {
        float[] out = randoms(random, n, scale);
        for (int i = 0; i < n; i++) {
            out[i] = Math.abs(out[i]) * factor;
        }
        return out;
    }

    private static void assertClose(float expected, float actual, float relative, String what) {
        assertEquals(expected, actual, relative * Math.max(Math.abs(expected), 1e-30f) + 1e-30f, what);
    }

    @Test
    void scalarMatmulEqualsNaiveProduct() {
        SplittableRandom random = new SplittableRandom(9);
        int[][] shapes = {{1, 1, 1}, {3, 7, 5}, {17, 33, 1029}, {64, 4, 9}, {5, 130, 513}};
        for (int[] shape : shapes) {
            int m = shape[0];
            int k = shape[1];
            int n = shape[2];
            int lda = k + 3;
            float[] a = randoms(random, m * lda, 1);
            float[] w = randoms(random, n * k, 1); // PyTorch layout (n, k)
            float[] bias = randoms(random, n, 1);
            float[] c = new float[2 + m * (n + 1)];
            reference.matmul(a, 2, lda, m, new PackedWeight(w, n, k), bias, c, 2, n + 1);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double expected = bias[j];
                    for (int kk = 0; kk < k; kk++) {
                        expected += (double) a[2 + i * lda + kk] * w[j * k + kk];
                    }
                    assertEquals(expected, c[2 + i * (n + 1) + j], 1e-5 * Math.max(1, Math.abs(expected)),
                            "c[" + i + "][" + j + "] for " + m + "x" + k + "x" + n);
                }
            }
        }
    }

    @Test
    void vectorExpAndLog1pAreTheScalarOnesLaneByLane() {
        vector();
        jdk.incubator.vector.VectorSpecies<Float> species = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;
        float[] in = new float[species.length()];
        float[] out = new float[species.length()];
        SplittableRandom random = new SplittableRandom(5);
        for (int trial = 0; trial < 20_000; trial++) {
            for (int i = 0; i < in.length; i++) {
                in[i] = (float) (-random.nextDouble() * (trial % 2 == 0 ? 1 : 100));
            }
            in[0] = trial == 0 ? Float.NaN : in[0];
            VectorCpuKernels.expNonPositive(jdk.incubator.vector.FloatVector.fromArray(species, in, 0)).intoArray(out, 0);
            for (int i = 0; i < in.length; i++) {
                assertEquals(CpuMath.exp(in[i]), out[i], "exp(" + in[i] + ")");
            }
            for (int i = 0; i < in.length; i++) {
                in[i] = (float) random.nextDouble();
            }
            VectorCpuKernels.log1p(jdk.incubator.vector.FloatVector.fromArray(species, in, 0)).intoArray(out, 0);
            for (int i = 0; i < in.length; i++) {
                assertEquals(CpuMath.log1p(in[i]), out[i], "log1p(" + in[i] + ")");
            }
        }
    }

    @Test
    void matmulMatches() {
        CpuKernels vector = vector();
        SplittableRandom random = new SplittableRandom(4);
        // Rows by six, four and one; columns by four, two and one 16-lane slices and scalar tails.
        int[][] shapes = {{1, 1, 1}, {3, 7, 5}, {5, 33, 16}, {7, 16, 300}, {9, 130, 513}, {13, 5, 200}, {4, 9, 64},
                {17, 40, 1024}};
        for (int[] shape : shapes) {
            int m = shape[0];
            int k = shape[1];
            int n = shape[2];
            float[] a = randoms(random, 1 + m * (k + 2), 1);
            PackedWeight w = new PackedWeight(randoms(random, n * k, 1), n, k);
            float[] bias = randoms(random, n, 1);
            float[] expected = new float[3 + m * (n + 1)];
            float[] actual = new float[expected.length];
            reference.matmul(a, 1, k + 2, m, w, bias, expected, 3, n + 1);
            vector.matmul(a, 1, k + 2, m, w, bias, actual, 3, n + 1);
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], actual[i], 2e-6 * Math.sqrt(k) * Math.max(1, Math.abs(expected[i])),
                        "c[" + i + "] for " + m + "x" + k + "x" + n);
            }
        }
    }

    @Test
    void axpyMatchesBitForBit() {
        CpuKernels vector = vector();
        SplittableRandom random = new SplittableRandom(4);
        for (int n : new int[] {1, 15, 16, 17, 64, 100}) {
            float[] x = randoms(random, n + 2, 1);
            float[] y = randoms(random, n + 5, 1);
            float[] a = y.clone();
            float[] b = y.clone();
            reference.axpy(0.37f, x, 2, a, 5, n);
            vector.axpy(0.37f, x, 2, b, 5, n);
            for (int i = 0; i < n + 5; i++) {
                assertEquals(i < 5 ? y[i] : Math.fma(0.37f, x[i - 3], y[i]), a[i], "scalar axpy[" + i + "]");
                assertEquals(a[i], b[i], "axpy[" + i + "] n=" + n);
            }
        }
    }

    @Test
    void softplusMatches() {
        CpuKernels vector = vector();
        SplittableRandom random = new SplittableRandom(1);
        for (int n : new int[] {1, 15, 16, 17, 100, 512}) {
            float[] dt = randoms(random, n + 3, 12);
            float[] bias = randoms(random, n, 3);
            float[] a = dt.clone();
            float[] b = dt.clone();
            reference.softplus(a, 3, bias, n);
            vector.softplus(b, 3, bias, n);
            for (int i = 0; i < n + 3; i++) {
                assertEquals(a[i], b[i], "softplus[" + i + "] n=" + n + ": the same operations, bit for bit");
            }
        }
    }

    @Test
    void decaysMatch() {
        CpuKernels vector = vector();
        SplittableRandom random = new SplittableRandom(2);
        for (int ds : new int[] {1, 5, 16, 17, 64}) {
            int channels = 37;
            float[] delta = magnitudes(random, channels + 2, 1, 4);
            float[] a = magnitudes(random, channels * ds, 8, -1);
            float[] expected = new float[channels * ds];
            float[] actual = new float[channels * ds];
            reference.decays(delta, 2, a, expected, channels, ds);
            vector.decays(delta, 2, a, actual, channels, ds);
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], actual[i], "decay[" + i + "] ds=" + ds + ": the same operations, bit for bit");
            }
        }
    }

    @Test
    void updateRowsMatches() {
        CpuKernels vector = vector();
        SplittableRandom random = new SplittableRandom(3);
        for (int ds : new int[] {1, 3, 16, 19, 128}) {
            int channels = 5;
            float[] h = randoms(random, 2 + channels * ds, 1);
            float[] decay = new float[channels * ds];
            for (int i = 0; i < decay.length; i++) {
                decay[i] = (float) random.nextDouble();
            }
            float[] bc = randoms(random, 2 * ds + 7, 1);
            float[] deltaX = randoms(random, channels + 1, 1);
            float[] h1 = h.clone();
            float[] h2 = h.clone();
            float[] y1 = new float[channels + 4];
            float[] y2 = new float[channels + 4];
            reference.updateRows(h1, 2, decay, bc, 7, 7 + ds, deltaX, 1, y1, 4, channels, ds);
            vector.updateRows(h2, 2, decay, bc, 7, 7 + ds, deltaX, 1, y2, 4, channels, ds);
            for (int i = 0; i < h.length; i++) {
                assertClose(h1[i], h2[i], 1e-6f, "h[" + i + "] ds=" + ds);
            }
            for (int ch = 0; ch < channels; ch++) {
                double scale = 0;
                for (int n = 0; n < ds; n++) {
                    scale += Math.abs(h1[2 + ch * ds + n] * bc[7 + ds + n]);
                }
                assertEquals(y1[4 + ch], y2[4 + ch], 1e-6 * scale + 1e-30, "y[" + ch + "] ds=" + ds);
            }
        }
    }

    @Test
    void convSiluMatchesBitForBit() {
        CpuKernels vector = vector();
        SplittableRandom random = new SplittableRandom(6);
        for (int channels : new int[] {1, 15, 16, 17, 100, 512}) {
            for (int k : new int[] {2, 4}) {
                float[] taps = randoms(random, channels * k, 1);
                float[] bias = randoms(random, channels, 1);
                float[] window = randoms(random, 3 + (k - 1) * channels, 10);
                float[] in = randoms(random, 2 + channels, 10);
                // Beyond the exp polynomial's range (both signs) and NaN: those lanes go the scalar way.
                in[2] = 1e4f;
                in[2 + channels / 2] = -1e4f;
                in[1 + channels] = channels > 20 ? Float.NaN : in[1 + channels];
                for (float[] b : new float[][] {bias, null}) {
                    float[] expected = new float[channels + 5];
                    float[] actual = new float[channels + 5];
                    reference.convSilu(taps, b, window, 3, in, 2, expected, 5, channels, k);
                    vector.convSilu(taps, b, window, 3, in, 2, actual, 5, channels, k);
                    for (int i = 0; i < channels; i++) {
                        float acc = b == null ? 0f : b[i];
                        for (int t = 0; t < k - 1; t++) {
                            acc += taps[t * channels + i] * window[3 + t * channels + i];
                        }
                        acc += taps[(k - 1) * channels + i] * in[2 + i];
                        if (Float.isNaN(acc)) {
                            assertEquals(Float.NaN, expected[5 + i], "scalar conv[" + i + "] of NaN");
                            continue;
                        }
                        float silu = (float) (acc / (1 + Math.exp(-acc)));
                        assertEquals(silu, expected[5 + i], 1e-6f * Math.abs(silu) + 1e-30f, "scalar conv[" + i + "]");
                    }
                    for (int i = 0; i < expected.length; i++) {
                        assertEquals(expected[i], actual[i], "conv[" + i + "] channels=" + channels + " k=" + k);
                    }
                }
            }
        }
    }

    @Test
    void skipGateMatchesBitForBit() {
        CpuKernels vector = vector();
        SplittableRandom random = new SplittableRandom(7);
        for (int n : new int[] {1, 15, 16, 17, 100, 512}) {
            float[] y = randoms(random, n + 1, 1);
            float[] skip = randoms(random, n, 1);
            float[] x = randoms(random, n + 2, 1);
            float[] z = randoms(random, n + 3, 30);
            z[3] = -200f;
            z[2 + n] = 95f;
            float[] expected = y.clone();
            float[] actual = y.clone();
            reference.skipGate(expected, 1, skip, x, 2, z, 3, n);
            vector.skipGate(actual, 1, skip, x, 2, z, 3, n);
            for (int i = 0; i < n; i++) {
                float zi = z[3 + i];
                assertEquals((y[1 + i] + skip[i] * x[2 + i]) * CpuMath.silu(zi), expected[1 + i],
                        "scalar gate[" + i + "]");
            }
            for (int i = 0; i < y.length; i++) {
                assertEquals(expected[i], actual[i], "gate[" + i + "] n=" + n);
            }
        }
    }

    @Test
    void selectiveUpdateIsDecaysThenUpdateRows() {
        CpuKernels vector = vector();
        SplittableRandom random = new SplittableRandom(8);
        for (int ds : new int[] {1, 5, 16, 17, 64}) {
            int channels = 37;
            float[] delta = magnitudes(random, channels + 2, 1, 4);
            float[] a = magnitudes(random, channels * ds, 8, -1);
            float[] x = randoms(random, channels + 3, 1);
            float[] h = randoms(random, 2 + channels * ds, 1);
            float[] bc = randoms(random, 2 * ds + 7, 1);
            float[] deltaX = new float[channels];
            for (int ch = 0; ch < channels; ch++) {
                deltaX[ch] = delta[2 + ch] * x[3 + ch];
            }
            for (CpuKernels kernels : new CpuKernels[] {reference, vector}) {
                float[] decay = new float[channels * ds];
                float[] expectedH = h.clone();
                float[] expectedY = new float[channels + 4];
                kernels.decays(delta, 2, a, decay, channels, ds);
                kernels.updateRows(expectedH, 2, decay, bc, 7, 7 + ds, deltaX, 0, expectedY, 4, channels, ds);
                float[] actualH = h.clone();
                float[] actualY = new float[channels + 4];
                kernels.selectiveUpdate(actualH, 2, a, delta, 2, x, 3, bc, 7, 7 + ds, actualY, 4, channels, ds);
                String which = kernels.getClass().getSimpleName() + " ds=" + ds;
                for (int i = 0; i < h.length; i++) {
                    assertEquals(expectedH[i], actualH[i], "h[" + i + "] " + which);
                }
                for (int i = 0; i < expectedY.length; i++) {
                    assertEquals(expectedY[i], actualY[i], "y[" + i + "] " + which);
                }
            }
        }
    }
}
