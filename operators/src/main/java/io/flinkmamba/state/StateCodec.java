package io.flinkmamba.state;

import io.flinkmamba.tensor.FloatFormats;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Locale;

/**
 * How one key's float32 state ({@link StateLayout}) is stored between steps, little-endian:
 * <ul>
 *   <li>{@code FLOAT32}: 4 bytes a float, exact;</li>
 *   <li>{@code FLOAT16}: IEEE binary16, round to nearest even (|x| &gt; 65504 is refused);</li>
 *   <li>{@code BFLOAT16}: the top half of the float32, round to nearest even;</li>
 *   <li>{@code INT8}: per row of the layout, a float32 scale = max|x| / 127 and one signed byte per float,
 *       round(x / scale).</li>
 * </ul>
 * A non-finite value is never encoded: such a state is corrupt and must not be persisted.
 */
public enum StateCodec {
    FLOAT32(0, 4),
    FLOAT16(1, 2),
    BFLOAT16(2, 2),
    INT8(3, 1);

    private static final float FLOAT16_MAX = 65504f;

    private final byte id;
    private final int bytesPerFloat;

    StateCodec(int id, int bytesPerFloat) {
        this.id = (byte) id;
        this.bytesPerFloat = bytesPerFloat;
    }

    /** The stable id stored in state headers. */
    public byte id() {
        return id;
    }

    public static StateCodec fromId(int id) {
        for (StateCodec codec : values()) {
            if (codec.id == id) {
                return codec;
            }
        }
        throw new IllegalArgumentException("unknown state codec id " + id);
    }

    /** float32, float16, bfloat16 or int8 (also fp32, fp16, bf16), any case. */
    public static StateCodec parse(String name) {
        switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "float32", "fp32" -> {
                return FLOAT32;
            }
            case "float16", "fp16" -> {
                return FLOAT16;
            }
            case "bfloat16", "bf16" -> {
                return BFLOAT16;
            }
            case "int8" -> {
                return INT8;
            }
            default -> throw new IllegalArgumentException("unknown state codec '" + name
                    + "' (valid: float32, float16, bfloat16, int8)");
        }
    }

    /** The name used in configuration. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Bytes of one encoded key state. */
    public int encodedSize(StateLayout layout) {
        int size = layout.floatsPerKey() * bytesPerFloat;
        return this == INT8 ? size + 4 * layout.rowsPerKey() : size;
    }

    /** Encodes {@code layout.floatsPerKey()} floats from {@code state[offset..]} at out's position, advancing it. */
    public void encode(StateLayout layout, float[] state, int offset, ByteBuffer out) {
        int n = layout.floatsPerKey();
        ByteBuffer le = out.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int p = out.position();
        switch (this) {
            case FLOAT32 -> {
                for (int i = 0; i < n; i++) {
                    le.putFloat(p + 4 * i, finite(state[offset + i], i));
                }
            }
            case FLOAT16 -> {
                for (int i = 0; i < n; i++) {
                    float v = finite(state[offset + i], i);
                    if (Math.abs(v) > FLOAT16_MAX) {
                        throw new IllegalArgumentException("state value " + v + " at float " + i
                                + " is out of float16 range (|x| <= 65504); use float32 or bfloat16 states");
                    }
                    le.putShort(p + 2 * i, FloatFormats.floatToFloat16(v));
                }
            }
            case BFLOAT16 -> {
                for (int i = 0; i < n; i++) {
                    le.putShort(p + 2 * i, FloatFormats.floatToBfloat16(finite(state[offset + i], i)));
                }
            }
            case INT8 -> {
                int at = p;
                int i = 0;
                for (int row = 0; row < layout.rowsPerKey(); row++) {
                    int len = layout.rowLength(row);
                    float max = 0f;
                    for (int j = 0; j < len; j++) {
                        max = Math.max(max, Math.abs(finite(state[offset + i + j], i + j)));
                    }
                    float scale = max / 127f;
                    le.putFloat(at, scale);
                    at += 4;
                    float inverse = scale == 0f ? 0f : 1f / scale;
                    for (int j = 0; j < len; j++) {
                        int q = Math.round(state[offset + i + j] * inverse);
                        le.put(at++, (byte) Math.max(-127, Math.min(127, q)));
                    }
                    i += len;
                }
            }
            default -> throw new IllegalStateException(name());
        }
        out.position(p + encodedSize(layout));
    }

    /** Decodes one key state from in's position, advancing it, into {@code state[offset..]}. */
    public void decode(StateLayout layout, ByteBuffer in, float[] state, int offset) {
        int n = layout.floatsPerKey();
        ByteBuffer le = in.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int p = in.position();
        if (in.remaining() < encodedSize(layout)) {
            throw new IllegalArgumentException("encoded " + configName() + " state needs " + encodedSize(layout)
                    + " bytes, only " + in.remaining() + " remain");
        }
        switch (this) {
            case FLOAT32 -> {
                for (int i = 0; i < n; i++) {
                    state[offset + i] = le.getFloat(p + 4 * i);
                }
            }
            case FLOAT16 -> {
                for (int i = 0; i < n; i++) {
                    state[offset + i] = FloatFormats.float16ToFloat(le.getShort(p + 2 * i));
                }
            }
            case BFLOAT16 -> {
                for (int i = 0; i < n; i++) {
                    state[offset + i] = FloatFormats.bfloat16ToFloat(le.getShort(p + 2 * i));
                }
            }
            case INT8 -> {
                int at = p;
                int i = 0;
                for (int row = 0; row < layout.rowsPerKey(); row++) {
                    int len = layout.rowLength(row);
                    float scale = le.getFloat(at);
                    at += 4;
                    for (int j = 0; j < len; j++) {
                        state[offset + i + j] = le.get(at++) * scale;
                    }
                    i += len;
                }
            }
            default -> throw new IllegalStateException(name());
        }
        in.position(p + encodedSize(layout));
    }

    private static float finite(float v, int index) {
        if (!Float.isFinite(v)) {
            throw new IllegalArgumentException("state value " + v + " at float " + index
                    + " is not finite: the state is corrupt and is not stored");
        }
        return v;
    }
}
