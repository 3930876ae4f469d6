package io.flinkmamba.state;

import io.flinkmamba.tensor.FloatFormats;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.BufferOverflowException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StateCodecTest {
    /** Odd shapes, plus one of more than 2048 floats so that the 16-bit codecs work in several chunks. */
    private static final List<StateLayout> LAYOUTS = List.of(
            new StateLayout(2, 4, 37, 19, 5),
            new StateLayout(1, 3, 8, 8, 16),
            new StateLayout(1, 2, 1, 1, 1),
            new StateLayout(3, 4, 301, 97, 16));

    private static final byte SENTINEL = (byte) 0x5a;

    /** Normal-range float16 values of either sign, magnitudes from 2^-10 to 2^10. */
    private static float[] randomState(StateLayout layout, int offset, int tail, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] state = new float[offset + layout.floatsPerKey() + tail];
        for (int i = 0; i < state.length; i++) {
            float magnitude = (float) Math.scalb(1 + random.nextDouble(), random.nextInt(-10, 10));
            state[i] = random.nextBoolean() ? magnitude : -magnitude;
        }
        return state;
    }

    @ParameterizedTest
    @EnumSource(StateCodec.class)
    void roundTripsWithinTheCodecsPrecisionAtOffsets(StateCodec codec) {
        long seed = 1;
        for (StateLayout layout : LAYOUTS) {
            int offset = 5;
            int position = 7;
            float[] state = randomState(layout, offset, 3, seed++);
            float[] original = state.clone();
            int size = codec.encodedSize(layout);
            ByteBuffer buffer = ByteBuffer.allocate(position + size + 11);
            Arrays.fill(buffer.array(), SENTINEL);
            buffer.position(position);

            codec.encode(layout, state, offset, buffer);

            assertEquals(position + size, buffer.position(), "encodedSize equals the bytes written");
            assertArrayEquals(original, state, "encode leaves the state alone");
            for (int i = 0; i < buffer.capacity(); i++) {
                if (i < position || i >= position + size) {
                    assertEquals(SENTINEL, buffer.array()[i], "byte " + i + " outside the encoded state");
                }
            }

            buffer.position(position);
            float[] decoded = new float[state.length];
            Arrays.fill(decoded, 42f);
            codec.decode(layout, buffer, decoded, offset);
            assertEquals(position + size, buffer.position());

            for (int i = 0; i < state.length; i++) {
                if (i < offset || i >= offset + layout.floatsPerKey()) {
                    assertEquals(42f, decoded[i], "float " + i + " outside the decoded state");
                }
            }
            float[] rowScale = int8Scales(layout, state, offset);
            for (int i = 0; i < layout.floatsPerKey(); i++) {
                float v = state[offset + i];
                float d = decoded[offset + i];
                String where = codec + " " + layout + " float " + i + ": " + v + " -> " + d;
                float error = Math.abs(d - v);
                switch (codec) {
                    case FLOAT32 -> assertEquals(Float.floatToRawIntBits(v), Float.floatToRawIntBits(d), where);
                    case FLOAT16 -> assertTrue(error <= Math.abs(v) * 0x1p-11f, where);
                    case BFLOAT16 -> assertTrue(error <= Math.abs(v) * 0x1p-8f, where);
                    // Half a quantization step, plus float rounding of v / scale and q * scale.
                    case INT8 -> assertTrue(error <= rowScale[i] / 2 * (1 + 1e-4f), where);
                    default -> throw new AssertionError(codec);
                }
            }
        }
    }

    /** The int8 scale of each float's row, computed independently from the layout's rows. */
    private static float[] int8Scales(StateLayout layout, float[] state, int offset) {
        float[] scales = new float[layout.floatsPerKey()];
        int start = 0;
        for (int row = 0; row < layout.rowsPerKey(); row++) {
            int len = layout.rowLength(row);
            float max = 0;
            for (int j = 0; j < len; j++) {
                max = Math.max(max, Math.abs(state[offset + start + j]));
            }
            Arrays.fill(scales, start, start + len, max / 127f);
            start += len;
        }
        assertEquals(layout.floatsPerKey(), start);
        return scales;
    }

    @ParameterizedTest
    @EnumSource(StateCodec.class)
    void bytesAreLittleEndianWhateverTheBufferOrderOrKind(StateCodec codec) {
        StateLayout layout = LAYOUTS.get(3);
        float[] state = randomState(layout, 0, 0, 2);
        int size = codec.encodedSize(layout);
        ByteBuffer little = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer big = ByteBuffer.allocate(size).order(ByteOrder.BIG_ENDIAN);
        ByteBuffer direct = ByteBuffer.allocateDirect(size + 3).order(ByteOrder.BIG_ENDIAN);
        direct.position(3);
        codec.encode(layout, state, 0, little);
        codec.encode(layout, state, 0, big);
        codec.encode(layout, state, 0, direct);
        assertEquals(ByteOrder.BIG_ENDIAN, big.order(), "the caller's order setting is kept");
        assertArrayEquals(little.array(), big.array());
        byte[] fromDirect = new byte[size];
        direct.position(3);
        direct.get(fromDirect);
        assertArrayEquals(little.array(), fromDirect);
        assertArrayEquals(expectedBytes(codec, layout, state), little.array());

        direct.position(3);
        float[] fromBig = new float[state.length];
        float[] fromLittle = new float[state.length];
        codec.decode(layout, direct, fromBig, 0);
        codec.decode(layout, ByteBuffer.wrap(little.array()).order(ByteOrder.LITTLE_ENDIAN), fromLittle, 0);
        assertArrayEquals(fromLittle, fromBig);
    }

    /** The documented format, written independently one value at a time. */
    private static byte[] expectedBytes(StateCodec codec, StateLayout layout, float[] state) {
        ByteBuffer expected = ByteBuffer.allocate(codec.encodedSize(layout)).order(ByteOrder.LITTLE_ENDIAN);
        switch (codec) {
            case FLOAT32 -> {
                for (float v : state) {
                    expected.putFloat(v);
                }
            }
            case FLOAT16 -> {
                for (float v : state) {
                    expected.putShort(FloatFormats.floatToFloat16(v));
                }
            }
            case BFLOAT16 -> {
                for (float v : state) {
                    expected.putShort(FloatFormats.floatToBfloat16(v));
                }
            }
            case INT8 -> {
                float[] scales = int8Scales(layout, state, 0);
                int i = 0;
                for (int row = 0; row < layout.rowsPerKey(); row++) {
                    float scale = scales[i];
                    expected.putFloat(scale);
                    for (int j = 0; j < layout.rowLength(row); j++, i++) {
                        int q = scale == 0 ? 0 : Math.max(-127, Math.min(127, Math.round(state[i] / scale)));
                        expected.put((byte) q);
                    }
                }
            }
            default -> throw new AssertionError(codec);
        }
        assertEquals(0, expected.remaining());
        return expected.array();
    }

    @ParameterizedTest
    @EnumSource(StateCodec.class)
    void zeroRowsAndZeroStatesDecodeToZero(StateCodec codec) {
        StateLayout layout = LAYOUTS.get(0);
        float[] state = randomState(layout, 0, 0, 3);
        // Zero the second row (a conv row) and the first ssm row of the second layer.
        Arrays.fill(state, 37, 74, 0f);
        Arrays.fill(state, layout.ssmOffset(1), layout.ssmOffset(1) + 5, 0f);
        for (float[] input : new float[][] {state, new float[layout.floatsPerKey()]}) {
            ByteBuffer buffer = ByteBuffer.allocate(codec.encodedSize(layout));
            codec.encode(layout, input, 0, buffer);
            buffer.flip();
            float[] decoded = new float[input.length];
            Arrays.fill(decoded, 9f);
            codec.decode(layout, buffer, decoded, 0);
            for (int i = 0; i < input.length; i++) {
                if (input[i] == 0f) {
                    assertEquals(0f, decoded[i], codec + " float " + i);
                }
            }
            if (codec == StateCodec.INT8) {
                assertEquals(0f, buffer.order(ByteOrder.LITTLE_ENDIAN).getFloat(4 + 37), "a zero row's scale is 0");
            }
        }
    }

    @Test
    void int8ScaleIsTheRowMaximumOver127AndTheExtremesAreExact() {
        StateLayout layout = new StateLayout(1, 2, 4, 1, 3);
        float[] state = {-2.54f, 1f, 0.5f, 2.54f, 0f, 1e-3f, -0.3f};
        ByteBuffer buffer = ByteBuffer.allocate(StateCodec.INT8.encodedSize(layout)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(2 * 4 + 7, buffer.capacity());
        StateCodec.INT8.encode(layout, state, 0, buffer);
        assertEquals(2.54f / 127f, buffer.getFloat(0));
        assertEquals(-127, buffer.get(4));
        assertEquals(127, buffer.get(7));
        assertEquals(0.3f / 127f, buffer.getFloat(8));
        assertEquals(0, buffer.get(12));
        assertEquals(-127, buffer.get(14));
        buffer.flip();
        float[] decoded = new float[state.length];
        StateCodec.INT8.decode(layout, buffer, decoded, 0);
        assertEquals(-127 * (2.54f / 127f), decoded[0]);
        assertEquals(0f, decoded[4]);
    }

    @Test
    void idsNamesAndParsing() {
        assertEquals(List.of(0, 1, 2, 3), Arrays.stream(StateCodec.values()).map(c -> (int) c.id()).toList());
        assertEquals(List.of("float32", "float16", "bfloat16", "int8"),
                Arrays.stream(StateCodec.values()).map(StateCodec::configName).toList());
        for (StateCodec codec : StateCodec.values()) {
            assertSame(codec, StateCodec.fromId(codec.id()));
            assertSame(codec, StateCodec.parse(codec.configName()));
            assertSame(codec, StateCodec.parse(codec.configName().toUpperCase(Locale.ROOT)));
        }
        assertSame(StateCodec.FLOAT32, StateCodec.parse("FP32"));
        assertSame(StateCodec.FLOAT16, StateCodec.parse("fp16"));
        assertSame(StateCodec.BFLOAT16, StateCodec.parse("Bf16"));
        assertSame(StateCodec.INT8, StateCodec.parse(" int8 "));

        for (int id : new int[] {-1, 4, 9, 255}) {
            String message = assertThrows(IllegalArgumentException.class, () -> StateCodec.fromId(id)).getMessage();
            assertTrue(message.contains("id " + id), message);
        }
        for (String name : new String[] {"int4", "", "float"}) {
            String message = assertThrows(IllegalArgumentException.class, () -> StateCodec.parse(name)).getMessage();
            assertTrue(message.contains("'" + name + "'") && message.contains("float32, float16, bfloat16, int8"),
                    message);
        }
        assertThrows(IllegalArgumentException.class, () -> StateCodec.parse(null));
    }

    @ParameterizedTest
    @EnumSource(StateCodec.class)
    void nonFiniteStatesAreRefusedNamingTheFloat(StateCodec codec) {
        StateLayout layout = LAYOUTS.get(3);
        float[] bad = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.intBitsToFloat(0xff800001)};
        int[] indices = {0, 17, 2047, 2048, 5000, layout.floatsPerKey() - 1};
        for (float value : bad) {
            for (int index : indices) {
                int offset = 3;
                float[] state = randomState(layout, offset, 0, 4);
                state[offset + index] = value;
                if (index + 100 < layout.floatsPerKey()) {
                    state[offset + index + 100] = Float.NaN; // only the first one is reported
                }
                ByteBuffer buffer = ByteBuffer.allocate(codec.encodedSize(layout) + 2);
                buffer.position(2);
                String message = assertThrows(IllegalArgumentException.class,
                        () -> codec.encode(layout, state, offset, buffer)).getMessage();
                assertTrue(message.contains("float " + index + " ") && message.contains("corrupt"), message);
                assertEquals(2, buffer.position(), "a refused encode does not advance the buffer");
            }
        }
    }

    @Test
    void float16RefusesValuesThatOverflowIt() {
        StateLayout layout = LAYOUTS.get(1);
        for (float value : new float[] {70000f, -1e6f, 65520f, Float.MAX_VALUE}) {
            float[] state = new float[layout.floatsPerKey()];
            state[3] = value;
            ByteBuffer buffer = ByteBuffer.allocate(StateCodec.FLOAT16.encodedSize(layout));
            String message = assertThrows(IllegalArgumentException.class,
                    () -> StateCodec.FLOAT16.encode(layout, state, 0, buffer)).getMessage();
            assertTrue(message.contains("float 3 ") && message.contains("out of float16 range"), message);
            assertEquals(0, buffer.position());
        }
        // Up to just below 65520 rounds to the largest half, 65504, rather than to infinity.
        float[] state = new float[layout.floatsPerKey()];
        state[0] = 65519f;
        state[1] = -65504f;
        ByteBuffer buffer = ByteBuffer.allocate(StateCodec.FLOAT16.encodedSize(layout));
        assertDoesNotThrow(() -> StateCodec.FLOAT16.encode(layout, state, 0, buffer));
        buffer.flip();
        float[] decoded = new float[state.length];
        StateCodec.FLOAT16.decode(layout, buffer, decoded, 0);
        assertEquals(65504f, decoded[0]);
        assertEquals(-65504f, decoded[1]);
    }

    @Test
    void bfloat16RefusesValuesThatRoundToInfinity() {
        StateLayout layout = LAYOUTS.get(1);
        float[] state = new float[layout.floatsPerKey()];
        state[9] = -Float.MAX_VALUE;
        ByteBuffer buffer = ByteBuffer.allocate(StateCodec.BFLOAT16.encodedSize(layout));
        String message = assertThrows(IllegalArgumentException.class,
                () -> StateCodec.BFLOAT16.encode(layout, state, 0, buffer)).getMessage();
        assertTrue(message.contains("float 9 ") && message.contains("out of bfloat16 range"), message);
        state[9] = 1e38f;
        assertDoesNotThrow(() -> StateCodec.BFLOAT16.encode(layout, state, 0, buffer));
    }

    @ParameterizedTest
    @EnumSource(StateCodec.class)
    void shortBuffersAndArraysAreRefusedUpFront(StateCodec codec) {
        StateLayout layout = LAYOUTS.get(0);
        float[] state = randomState(layout, 0, 0, 5);
        ByteBuffer small = ByteBuffer.allocate(codec.encodedSize(layout) + 1);
        small.position(2);
        assertThrows(BufferOverflowException.class, () -> codec.encode(layout, state, 0, small));
        assertEquals(2, small.position());
        assertThrows(BufferUnderflowException.class, () -> codec.decode(layout, small, state, 0));
        assertEquals(2, small.position());
        ByteBuffer enough = ByteBuffer.allocate(codec.encodedSize(layout));
        assertThrows(IndexOutOfBoundsException.class, () -> codec.encode(layout, state, 1, enough));
        assertThrows(IndexOutOfBoundsException.class, () -> codec.decode(layout, enough, new float[3], 0));
        assertEquals(0, enough.position());
    }

    @ParameterizedTest
    @EnumSource(StateCodec.class)
    void threadsEncodeAndDecodeIndependently(StateCodec codec) throws Exception {
        StateLayout layout = LAYOUTS.get(3);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> runs = new java.util.ArrayList<>();
            for (int t = 0; t < 4; t++) {
                long seed = 100 + t;
                runs.add(pool.submit(() -> {
                    float[] state = randomState(layout, 0, 0, seed);
                    byte[] expected = expectedBytes(codec, layout, state);
                    ByteBuffer buffer = ByteBuffer.allocate(codec.encodedSize(layout));
                    float[] decoded = new float[state.length];
                    for (int round = 0; round < 50; round++) {
                        buffer.clear();
                        codec.encode(layout, state, 0, buffer);
                        assertArrayEquals(expected, buffer.array());
                        buffer.flip();
                        codec.decode(layout, buffer, decoded, 0);
                    }
                    return null;
                }));
            }
            for (Future<?> run : runs) {
                run.get();
            }
        } finally {
            pool.shutdown();
        }
    }
}
