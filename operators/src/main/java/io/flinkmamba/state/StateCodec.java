package io.flinkmamba.state;

import io.flinkmamba.tensor.FloatFormats;

import java.nio.BufferOverflowException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * How a key's state is stored between steps: the bytes of one key's float32 {@link StateLayout} state, as
 * kept in Flink keyed state and in device memory. Every format is little-endian whatever the buffer's
 * order, so stored states do not depend on the machine or on how a buffer was set up.
 * <ul>
 *   <li>{@code FLOAT32}: floatsPerKey float32s, exact.</li>
 *   <li>{@code FLOAT16}: floatsPerKey IEEE binary16s, round to nearest even; a value that overflows
 *       float16 (|v| &ge; 65520, i.e. beyond the largest half 65504 after rounding) is refused.</li>
 *   <li>{@code BFLOAT16}: floatsPerKey bfloat16s (the top half of the float32), round to nearest even; a
 *       value that rounds past the largest bfloat16 (about 3.39e38) is refused.</li>
 *   <li>{@code INT8}: per row of the layout, in order: a float32 scale = max|v| / 127 (0 for an all-zero
 *       row), then one signed byte per float, q = round(v / scale) clamped to [-127, 127]; decodes to
 *       q * scale, within scale / 2 of v.</li>
 * </ul>
 * Encoding refuses NaN and infinities: such a state is corrupt and must never be persisted. A refused
 * encode leaves the buffer's position where it was (bytes after it may have been written).
 *
 * <p>These run for every key of every bundle, so they move data with bulk copies through little-endian
 * views and convert in small per-thread chunks rather than put a float at a time.
 */
public enum StateCodec {
    FLOAT32(0, "float32", 4) {
        @Override
        void encodeFloats(StateLayout layout, float[] state, int offset, ByteBuffer le) {
            int n = layout.floatsPerKey();
            FloatBuffer out = le.asFloatBuffer();
            // Check a chunk, then bulk-copy it while it is still in cache; the copy is a memcpy on
            // little-endian machines, so the check is the only per-float pass.
            for (int start = 0; start < n; start += CHUNK) {
                int len = Math.min(CHUNK, n - start);
                int bad = firstNonFinite(state, offset + start, len);
                if (bad >= 0) {
                    throw notFinite(state, offset, start + bad);
                }
                out.put(state, offset + start, len);
            }
        }

        @Override
        void decodeFloats(StateLayout layout, ByteBuffer le, float[] state, int offset) {
            le.asFloatBuffer().get(state, offset, layout.floatsPerKey());
        }
    },

    FLOAT16(1, "float16", 2) {
        @Override
        void encodeFloats(StateLayout layout, float[] state, int offset, ByteBuffer le) {
            encodeHalves(layout, state, offset, le, false);
        }

        @Override
        void decodeFloats(StateLayout layout, ByteBuffer le, float[] state, int offset) {
            decodeHalves(layout, le, state, offset, false);
        }
    },

    BFLOAT16(2, "bfloat16", 2) {
        @Override
        void encodeFloats(StateLayout layout, float[] state, int offset, ByteBuffer le) {
            encodeHalves(layout, state, offset, le, true);
        }

        @Override
        void decodeFloats(StateLayout layout, ByteBuffer le, float[] state, int offset) {
            decodeHalves(layout, le, state, offset, true);
        }
    },

    INT8(3, "int8", 1) {
        @Override
        public int encodedSize(StateLayout layout) {
            return layout.floatsPerKey() + 4 * layout.rowsPerKey();
        }

        @Override
        void encodeFloats(StateLayout layout, float[] state, int offset, ByteBuffer le) {
            Scratch scratch = SCRATCH.get();
            int at = le.position();
            int row0 = 0; // index of the row's first float within the key's state
            for (int row = 0, rows = layout.rowsPerKey(); row < rows; row++) {
                int len = layout.rowLength(row);
                int base = offset + row0;
                // For finite floats the order of the magnitude bits is the order of |v|, and NaN or
                // infinity is at least EXPONENT: one integer max finds the scale and checks the row.
                int maxBits = 0;
                for (int j = 0; j < len; j++) {
                    maxBits = Math.max(maxBits, Float.floatToRawIntBits(state[base + j]) & 0x7fffffff);
                }
                if (maxBits >= EXPONENT) {
                    throw notFinite(state, offset, row0 + firstNonFinite(state, base, len));
                }
                float scale = Float.intBitsToFloat(maxBits) / 127f;
                byte[] q = scratch.bytes(len);
                if (scale == 0f) {
                    // All-zero row (or one so tiny that its scale underflows): every value stores as 0.
                    Arrays.fill(q, 0, len, (byte) 0);
                } else {
                    // floor(x + 0.5) in double is exactly Math.round(x) for a float x (the sum is exact)
                    // and cheaper than Math.round's bit fiddling.
                    for (int j = 0; j < len; j++) {
                        int rounded = (int) Math.floor(state[base + j] / scale + 0.5d);
                        q[j] = (byte) Math.max(-127, Math.min(127, rounded));
                    }
                }
                le.putFloat(at, scale);
                le.put(at + 4, q, 0, len);
                at += 4 + len;
                row0 += len;
            }
        }

        @Override
        void decodeFloats(StateLayout layout, ByteBuffer le, float[] state, int offset) {
            Scratch scratch = SCRATCH.get();
            int at = le.position();
            int base = offset;
            for (int row = 0, rows = layout.rowsPerKey(); row < rows; row++) {
                int len = layout.rowLength(row);
                float scale = le.getFloat(at);
                byte[] q = scratch.bytes(len);
                le.get(at + 4, q, 0, len);
                for (int j = 0; j < len; j++) {
                    state[base + j] = q[j] * scale;
                }
                at += 4 + len;
                base += len;
            }
        }
    };

    /** Floats checked and converted per step of the float codecs: fits L1, yet amortizes each bulk copy. */
    private static final int CHUNK = 2048;
    private static final int EXPONENT = 0x7f800000;
    private static final int FLOAT16_INFINITY = 0x7c00;
    private static final int BFLOAT16_INFINITY = 0x7f80;

    /** Per-thread conversion buffers, so that no call allocates (operators run one key at a time per thread). */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final byte id;
    private final String configName;
    private final int bytesPerFloat;

    StateCodec(int id, String configName, int bytesPerFloat) {
        this.id = (byte) id;
        this.configName = configName;
        this.bytesPerFloat = bytesPerFloat;
    }

    /** The id stored in state headers; stable across versions: FLOAT32=0, FLOAT16=1, BFLOAT16=2, INT8=3. */
    public byte id() {
        return id;
    }

    /** The codec with id {@code id}. */
    public static StateCodec fromId(int id) {
        for (StateCodec codec : values()) {
            if (codec.id == id) {
                return codec;
            }
        }
        throw new IllegalArgumentException("unknown state codec id " + id + " (known: 0=float32, 1=float16, "
                + "2=bfloat16, 3=int8); the state was written by a newer or different version");
    }

    /** float32, float16, bfloat16 or int8 (also fp32, fp16, bf16), in any case. */
    public static StateCodec parse(String name) {
        String key = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        return switch (key) {
            case "float32", "fp32" -> FLOAT32;
            case "float16", "fp16" -> FLOAT16;
            case "bfloat16", "bf16" -> BFLOAT16;
            case "int8" -> INT8;
            default -> throw new IllegalArgumentException("unknown state codec '" + name
                    + "' (valid: float32, float16, bfloat16, int8; also fp32, fp16, bf16)");
        };
    }

    /** The name used in configuration: float32, float16, bfloat16 or int8. */
    public String configName() {
        return configName;
    }

    /** Bytes of one encoded key state. */
    public int encodedSize(StateLayout layout) {
        return layout.floatsPerKey() * bytesPerFloat;
    }

    /**
     * Encodes {@code layout.floatsPerKey()} floats from {@code state[offset..]} at out's position, advancing it,
     * little-endian regardless of out's order.
     *
     * @throws IllegalArgumentException for a non-finite value (the state is corrupt) or, for the 16-bit
     *     codecs, a value out of the format's range; out's position is then unchanged
     * @throws BufferOverflowException when out has fewer than {@link #encodedSize} bytes remaining
     */
    public void encode(StateLayout layout, float[] state, int offset, ByteBuffer out) {
        Objects.checkFromIndexSize(offset, layout.floatsPerKey(), state.length);
        int size = encodedSize(layout);
        if (out.remaining() < size) {
            throw new BufferOverflowException();
        }
        // A little-endian duplicate keeps the caller's order setting untouched; the views built on it start
        // at out's position.
        encodeFloats(layout, state, offset, out.duplicate().order(ByteOrder.LITTLE_ENDIAN));
        out.position(out.position() + size);
    }

    /**
     * Decodes one key state from in's position, advancing it, into {@code state[offset..]}.
     *
     * @throws BufferUnderflowException when in has fewer than {@link #encodedSize} bytes remaining
     */
    public void decode(StateLayout layout, ByteBuffer in, float[] state, int offset) {
        Objects.checkFromIndexSize(offset, layout.floatsPerKey(), state.length);
        int size = encodedSize(layout);
        if (in.remaining() < size) {
            throw new BufferUnderflowException();
        }
        decodeFloats(layout, in.duplicate().order(ByteOrder.LITTLE_ENDIAN), state, offset);
        in.position(in.position() + size);
    }

    /** Writes the encoded state at {@code le}'s position (le is little-endian, with room checked). */
    abstract void encodeFloats(StateLayout layout, float[] state, int offset, ByteBuffer le);

    /** Reads the encoded state at {@code le}'s position (le is little-endian, with enough bytes checked). */
    abstract void decodeFloats(StateLayout layout, ByteBuffer le, float[] state, int offset);

    /** The 16-bit codecs: float16, or bfloat16 when {@code bf16}. */
    private static void encodeHalves(StateLayout layout, float[] state, int offset, ByteBuffer le, boolean bf16) {
        int n = layout.floatsPerKey();
        ShortBuffer out = le.asShortBuffer();
        short[] halves = SCRATCH.get().halves;
        int infinity = bf16 ? BFLOAT16_INFINITY : FLOAT16_INFINITY;
        for (int start = 0; start < n; start += CHUNK) {
            int len = Math.min(CHUNK, n - start);
            // Checking the converted value catches NaN, infinity and overflow in one test per float.
            int maxMagnitude = 0;
            for (int i = 0; i < len; i++) {
                float v = state[offset + start + i];
                short h = bf16 ? FloatFormats.floatToBfloat16(v) : FloatFormats.floatToFloat16(v);
                halves[i] = h;
                maxMagnitude = Math.max(maxMagnitude, h & 0x7fff);
            }
            if (maxMagnitude >= infinity) {
                throw narrowingFailure(state, offset, start, halves, len, infinity, bf16
                        ? "bfloat16 range (largest bfloat16 is about 3.39e38)"
                        : "float16 range (largest float16 is 65504)");
            }
            out.put(halves, 0, len);
        }
    }

    private static void decodeHalves(StateLayout layout, ByteBuffer le, float[] state, int offset, boolean bf16) {
        int n = layout.floatsPerKey();
        ShortBuffer in = le.asShortBuffer();
        short[] halves = SCRATCH.get().halves;
        for (int start = 0; start < n; start += CHUNK) {
            int len = Math.min(CHUNK, n - start);
            in.get(halves, 0, len);
            for (int i = 0; i < len; i++) {
                state[offset + start + i] = bf16 ? FloatFormats.bfloat16ToFloat(halves[i])
                        : FloatFormats.float16ToFloat(halves[i]);
            }
        }
    }

    /** Index (from {@code from}) of the first NaN or infinity in {@code state[from..from+len)}, or -1. */
    private static int firstNonFinite(float[] state, int from, int len) {
        for (int i = 0; i < len; i++) {
            if (!Float.isFinite(state[from + i])) {
                return i;
            }
        }
        return -1;
    }

    /** The error for a 16-bit chunk whose conversion gave a NaN or infinity (some {@code halves[i]} &ge; infinity). */
    private static IllegalArgumentException narrowingFailure(float[] state, int offset, int start, short[] halves,
            int len, int infinity, String range) {
        int i = 0;
        while (i < len && (halves[i] & 0x7fff) < infinity) {
            i++;
        }
        int index = start + i;
        float v = state[offset + index];
        if (!Float.isFinite(v)) {
            return notFinite(state, offset, index);
        }
        return new IllegalArgumentException("state float " + index + " = " + v + " is out of " + range
                + ": it would overflow to infinity; store this model's states as float32");
    }

    private static IllegalArgumentException notFinite(float[] state, int offset, int index) {
        return new IllegalArgumentException("state float " + index + " is " + state[offset + index]
                + ": the state is corrupt (NaN or infinite) and must not be persisted");
    }

    /** Per-thread buffers: halves for the 16-bit codecs' chunks, bytes for an int8 row (grown to the longest row). */
    private static final class Scratch {
        final short[] halves = new short[CHUNK];
        private byte[] bytes = new byte[CHUNK];

        byte[] bytes(int len) {
            if (bytes.length < len) {
                bytes = new byte[len];
            }
            return bytes;
        }
    }
}
