package io.flinkmamba.engine;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CpuMathTest {

    @Test
    void expIsWithinTwoUlpOfTheCorrectlyRoundedValue() {
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < 1_000_000; i++) {
            float x = (float) (random.nextDouble() * 175 - 87.3);
            float expected = (float) Math.exp(x);
            float actual = CpuMath.exp(x);
            assertTrue(Math.abs(actual - expected) <= 2 * Math.ulp(expected), () -> "exp(" + x + ") = " + actual
                    + ", expected " + expected);
        }
    }

    @Test
    void expEdges() {
        assertEquals(1f, CpuMath.exp(0f));
        assertEquals(0f, CpuMath.exp(-1000f));
        assertEquals(Float.POSITIVE_INFINITY, CpuMath.exp(1000f));
        assertTrue(Float.isNaN(CpuMath.exp(Float.NaN)));
        assertEquals((float) Math.exp(88.7f), CpuMath.exp(88.7f), 2 * Math.ulp((float) Math.exp(88.7f)));
        assertEquals((float) Math.exp(-87.3f), CpuMath.exp(-87.3f), 2 * Math.ulp((float) Math.exp(-87.3f)));
    }

    @Test
    void siluAndSoftplus() {
        for (float x = -30; x <= 30; x += 0.37f) {
            double silu = x / (1 + Math.exp(-x));
            assertEquals(silu, CpuMath.silu(x), 1e-6 * Math.max(1, Math.abs(silu)));
            double softplus = x > 20 ? x : Math.log1p(Math.exp(x));
            assertEquals(softplus, CpuMath.softplus(x), 1e-6 * Math.max(1, Math.abs(softplus)));
        }
    }
}
