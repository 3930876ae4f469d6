package io.flinkmamba.safetensors;

import io.flinkmamba.tensor.FloatFormats;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * F16 and BF16 conversions: the bit patterns {@link FloatFormats} produces (round to nearest, ties to even),
 * and the same values after a trip through a file.
 */
class HalfPrecisionTest {
    /** Inputs and the binary16 bits they must round to. */
    private static final float[] F16_IN = {
        1f, -2.5f, 0f, -0f, 65504f, 65519f, 65520f, 1e9f,
        0x1p-14f, 0x1p-24f, 0x3ffp-24f, -0x1p-24f,
        0x1p-25f, 0x1.8p-25f, 0x3p-25f, 0x1p-26f,
        1f + 0x1p-11f, 1f + 0x3p-11f, 1f + 0x1p-11f + 0x1p-20f,
        Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
    };
    private static final short[] F16_BITS = {
        0x3c00, (short) 0xc100, 0x0000, (short) 0x8000, 0x7bff, 0x7bff, 0x7c00, 0x7c00, // 65520 ties up to inf
        0x0400, 0x0001, 0x03ff, (short) 0x8001, // smallest normal, smallest, largest and negative subnormal
        0x0000, 0x0001, 0x0002, 0x0000, // subnormal ties: 0.5 ulp -> 0 (even), 1.5 -> 2; below half -> 0
        0x3c00, 0x3c02, 0x3c01, // normal ties to even, and just above a tie rounds up
        0x7c00, (short) 0xfc00,
    };

    /** Inputs and the bfloat16 bits they must round to. */
    private static final float[] BF16_IN = {
        1f, -2.5f, -0f, 65504f, 1f + 0x1p-8f, 1f + 0x3p-8f, 1f + 0x1p-8f + 0x1p-20f,
        Float.MAX_VALUE, Float.MIN_VALUE, Float.intBitsToFloat(0x00010000), Float.NEGATIVE_INFINITY,
    };
    private static final short[] BF16_BITS = {
        0x3f80, (short) 0xc020, (short) 0x8000, 0x4780, 0x3f80, 0x3f82, 0x3f81,
        0x7f80, 0x0000, 0x0001, (short) 0xff80, // MAX_VALUE rounds to inf; subnormals round or stay exact
    };

    @TempDir
    Path dir;

    @Test
    void float16Bits() {
        for (int i = 0; i < F16_IN.length; i++) {
            assertEquals(F16_BITS[i], FloatFormats.floatToFloat16(F16_IN[i]), "float16 of " + F16_IN[i]);
        }
        short nan = FloatFormats.floatToFloat16(Float.NaN);
        assertEquals(0x7c00, nan & 0x7c00);
        assertTrue((nan & 0x3ff) != 0, "NaN must not become infinity");
    }

    @Test
    void float16ToFloatIsExact() {
        assertEquals(1f, FloatFormats.float16ToFloat((short) 0x3c00));
        assertEquals(-2.5f, FloatFormats.float16ToFloat((short) 0xc100));
        assertEquals(65504f, FloatFormats.float16ToFloat((short) 0x7bff));
        assertEquals(0x1p-24f, FloatFormats.float16ToFloat((short) 0x0001));
        assertEquals(0x3ffp-24f, FloatFormats.float16ToFloat((short) 0x03ff));
        assertEquals(-0f, FloatFormats.float16ToFloat((short) 0x8000));
        assertEquals(Float.NEGATIVE_INFINITY, FloatFormats.float16ToFloat((short) 0xfc00));
        assertTrue(Float.isNaN(FloatFormats.float16ToFloat((short) 0x7e00)));
        // Every non-NaN half survives the round trip bit for bit.
        for (int bits = 0; bits <= 0xffff; bits++) {
            float value = FloatFormats.float16ToFloat((short) bits);
            if (!Float.isNaN(value)) {
                assertEquals((short) bits, FloatFormats.floatToFloat16(value), "half bits " + Integer.toHexString(bits));
            }
        }
    }

    @Test
    void bfloat16Bits() {
        for (int i = 0; i < BF16_IN.length; i++) {
            assertEquals(BF16_BITS[i], FloatFormats.floatToBfloat16(BF16_IN[i]), "bfloat16 of " + BF16_IN[i]);
        }
        assertTrue(Float.isNaN(FloatFormats.bfloat16ToFloat(FloatFormats.floatToBfloat16(Float.NaN))));
        // A NaN whose payload lives only in the low 16 bits must stay NaN, not truncate to infinity.
        assertTrue(Float.isNaN(FloatFormats.bfloat16ToFloat(
                FloatFormats.floatToBfloat16(Float.intBitsToFloat(0x7f800001)))));
        assertEquals(-2.5f, FloatFormats.bfloat16ToFloat((short) 0xc020));
    }

    @Test
    void storedBitsAndValuesMatchFloatFormats() throws Exception {
        Path file = dir.resolve("half.safetensors");
        float[] nanAndMore = {Float.NaN, 1f, -2.5f, 65504f};
        new SafetensorsWriter()
                .add("f16", DType.F16, F16_IN, F16_IN.length)
                .add("bf16", DType.BF16, BF16_IN, BF16_IN.length)
                .add("nan16", DType.F16, nanAndMore, 2, 2)
                .add("nanbf", DType.BF16, nanAndMore, 4, 1)
                .write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertArrayEquals(F16_BITS, storedShorts(file, f.info("f16")));
            assertArrayEquals(BF16_BITS, storedShorts(file, f.info("bf16")));
            float[] f16 = f.readFloats("f16");
            for (int i = 0; i < F16_IN.length; i++) {
                assertEquals(FloatFormats.float16ToFloat(F16_BITS[i]), f16[i]);
            }
            float[] bf16 = f.readFloats("bf16");
            for (int i = 0; i < BF16_IN.length; i++) {
                assertEquals(FloatFormats.bfloat16ToFloat(BF16_BITS[i]), bf16[i]);
            }
            assertArrayEquals(new float[] {Float.NaN, 1f, -2.5f, 65504f}, f.readFloats("nan16"));
            assertArrayEquals(new float[] {Float.NaN, 1f, -2.5f, 65536f}, f.readFloats("nanbf"));
        }
    }

    /** The raw little-endian 16-bit values of a tensor, read from the file without the reader. */
    private static short[] storedShorts(Path file, TensorInfo info) throws Exception {
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        long dataStart = 8 + bytes.getLong(0);
        short[] out = new short[(int) info.numel()];
        for (int i = 0; i < out.length; i++) {
            out[i] = bytes.getShort((int) (dataStart + info.begin()) + 2 * i);
        }
        return out;
    }
}
