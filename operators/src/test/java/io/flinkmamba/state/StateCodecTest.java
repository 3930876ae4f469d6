package io.flinkmamba.state;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StateCodecTest {
    private static final StateLayout[] LAYOUTS = {new StateLayout(2, 4, 37, 19, 5), new StateLayout(1, 3, 8, 8, 16)};

    private static float[] randomState(StateLayout layout, int offset, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] state = new float[offset + layout.floatsPerKey() + 3];
        for (int i = 0; i < state.length; i++) {
            state[i] = (float) (random.nextGaussian() * Math.exp(random.nextDouble() * 4 - 2));
        }
        return state;
    }

    @ParameterizedTest
    @EnumSource(StateCodec.class)
    void roundTripWithinTheCodecsPrecision(StateCodec codec) {
        for (StateLayout layout : LAYOUTS) {
            int offset = 5;
            float[] state = randomState(layout, offset, 1);
            ByteBuffer buffer = ByteBuffer.allocate(codec.encodedSize(layout) + 11);
            buffer.position(7);
            codec.encode(layout, state, offset, buffer);
            assertEquals(7 + codec.encodedSize(layout), buffer.position(), "encodedSize equals the bytes written");
            buffer.position(7);
            float[] decoded = new float[state.length];
            codec.decode(layout, buffer, decoded, offset);
            assertEquals(7 + codec.encodedSize(layout), buffer.position());
            int row = 0;
            int inRow = 0;
            float rowMax = rowMax(layout, state, offset, 0);
            for (int i = 0; i < layout.floatsPerKey(); i++) {
                float v = state[offset + i];
                float d = decoded[offset + i];
                switch (codec) {
                    case FLOAT32 -> assertEquals(v, d);
                    case FLOAT16 -> assertEquals(v, d, Math.max(Math.abs(v) * 0x1p-11f, 0x1p-25f));
                    case BFLOAT16 -> assertEquals(v, d, Math.abs(v) * 0x1p-8f);
                    case INT8 -> assertEquals(v, d, rowMax / 127f / 2 * 1.0001f + 1e-12f);
                    default -> throw new AssertionError();
                }
                if (++inRow == layout.rowLength(row)) {
                    inRow = 0;
                    row++;
                    if (row < layout.rowsPerKey()) {
                        rowMax = rowMax(layout, state, offset + i + 1, row);
                    }
                }
            }
            assertEquals(0f, decoded[offset - 1], "nothing written before the offset");
            assertEquals(0f, decoded[offset + layout.floatsPerKey()], "nothing written after the state");
        }
    }

    private static float rowMax(StateLayout layout, float[] state, int start, int row) {
        float max = 0;
        for (int j = 0; j < layout.rowLength(row); j++) {
            max = Math.max(max, Math.abs(state[start + j]));
        }
        return max;
    }

    @ParameterizedTest
    @EnumSource(StateCodec.class)
    void bytesAreLittleEndianWhateverTheBufferOrder(StateCodec codec) {
        StateLayout layout = LAYOUTS[0];
        float[] state = randomState(layout, 0, 2);
        ByteBuffer little = ByteBuffer.allocate(codec.encodedSize(layout)).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer big = ByteBuffer.allocate(codec.encodedSize(layout)).order(ByteOrder.BIG_ENDIAN);
        codec.encode(layout, state, 0, little);
        codec.encode(layout, state, 0, big);
        assertArrayEquals(little.array(), big.array());
        if (codec == StateCodec.FLOAT32) {
            assertEquals(state[0], ByteBuffer.wrap(little.array()).order(ByteOrder.LITTLE_ENDIAN).getFloat(0));
        }
    }

    @Test
    void allZeroRowsStayZeroInInt8() {
        StateLayout layout = LAYOUTS[1];
        float[] zeros = new float[layout.floatsPerKey()];
        ByteBuffer buffer = ByteBuffer.allocate(StateCodec.INT8.encodedSize(layout));
        StateCodec.INT8.encode(layout, zeros, 0, buffer);
        buffer.flip();
        float[] decoded = new float[zeros.length];
        java.util.Arrays.fill(decoded, 9f);
        StateCodec.INT8.decode(layout, buffer, decoded, 0);
        assertArrayEquals(zeros, decoded);
    }

    @Test
    void idsAndNames() {
        for (StateCodec codec : StateCodec.values()) {
            assertSame(codec, StateCodec.fromId(codec.id()));
            assertSame(codec, StateCodec.parse(codec.configName().toUpperCase(java.util.Locale.ROOT)));
        }
        assertEquals(0, StateCodec.FLOAT32.id());
        assertEquals(3, StateCodec.INT8.id());
        assertSame(StateCodec.BFLOAT16, StateCodec.parse("bf16"));
        assertSame(StateCodec.FLOAT16, StateCodec.parse("fp16"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> StateCodec.fromId(9)).getMessage().contains("9"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> StateCodec.parse("int4")).getMessage()
                .contains("float32, float16, bfloat16, int8"));
    }

    @ParameterizedTest
    @EnumSource(StateCodec.class)
    void nonFiniteStatesAreRefused(StateCodec codec) {
        StateLayout layout = LAYOUTS[1];
        float[] state = new float[layout.floatsPerKey()];
        state[17] = Float.NaN;
        ByteBuffer buffer = ByteBuffer.allocate(codec.encodedSize(layout));
        String message = assertThrows(IllegalArgumentException.class, () -> codec.encode(layout, state, 0, buffer))
                .getMessage();
        assertTrue(message.contains("float 17") && message.contains("corrupt"), message);
    }

    @Test
    void float16RefusesOutOfRangeValues() {
        StateLayout layout = LAYOUTS[1];
        float[] state = new float[layout.floatsPerKey()];
        state[3] = 70000f;
        ByteBuffer buffer = ByteBuffer.allocate(StateCodec.FLOAT16.encodedSize(layout));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> StateCodec.FLOAT16.encode(layout, state, 0, buffer)).getMessage().contains("float16 range"));
    }
}
