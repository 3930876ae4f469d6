package io.flinkmamba.engine;

/**
 * Scalar float32 functions of the CPU engine, accurate to a few ulp (the reference runs these in float32
 * on the GPU) but several times faster than the double-precision {@link Math} versions. Public so that the
 * trainer's forward pass computes exactly the engine's functions.
 */
public final class CpuMath {
    private CpuMath() {}

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5 * 2^23: adding it rounds a float of magnitude < 2^22 to an integer in the low mantissa bits. */
    private static final float ROUND_MAGIC = 12582912f;

    /** e^x in float32 (Cephes expf: range reduction by ln 2 and a degree-6 polynomial), within 2 ulp. */
    public static float exp(float x) {
        if (!(x > -87.33654f && x < 88.37626f)) {
            // Underflow to 0, NaN, and the top range where 2^n needs two steps: rare, so the slow way.
            return x < 0 ? 0f : (float) Math.exp(x);
        }
        float shifted = Math.fma(x, LOG2E, ROUND_MAGIC);
        int n = Float.floatToRawIntBits(shifted) - 0x4B400000;
        float fn = shifted - ROUND_MAGIC;
        float r = Math.fma(fn, -LN2_LO, Math.fma(fn, -LN2_HI, x));
        float p = 1.9875691500e-4f;
        p = Math.fma(p, r, 1.3981999507e-3f);
        p = Math.fma(p, r, 8.3334519073e-3f);
        p = Math.fma(p, r, 4.1665795894e-2f);
        p = Math.fma(p, r, 1.6666665459e-1f);
        p = Math.fma(p, r, 5.0000001201e-1f);
        float er = Math.fma(p * r, r, r) + 1f;
        return er * Float.intBitsToFloat((n + 127) << 23);
    }

    /** SiLU (x * sigmoid(x)). */
    public static float silu(float x) {
        return x / (1f + exp(-x));
    }

    /** softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^-|x|), the identity above 20 as in the reference. */
    public static float softplus(float x) {
        return x > 20f ? x : Math.max(x, 0f) + log1p(exp(-Math.abs(x)));
    }

    /**
     * log(1 + u) for u in [0, 1]: 2 atanh(s) with s = u / (2 + u) in [0, 1/3], a series that needs no
     * cancellation-prone 1 + u and converges to float precision within eight terms.
     */
    public static float log1p(float u) {
        float s = u / (2f + u);
        float z = s * s;
        float p = 1f / 15;
        p = Math.fma(p, z, 1f / 13);
        p = Math.fma(p, z, 1f / 11);
        p = Math.fma(p, z, 1f / 9);
        p = Math.fma(p, z, 1f / 7);
        p = Math.fma(p, z, 1f / 5);
        p = Math.fma(p, z, 1f / 3);
        return 2f * Math.fma(s * z, p, s);
    }
}
