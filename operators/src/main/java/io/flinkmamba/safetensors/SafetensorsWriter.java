package io.flinkmamba.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flinkmamba.tensor.FloatFormats;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * Builds a safetensors file. Tensors are laid out in insertion order and the header JSON is padded with
 * spaces to a multiple of 8 bytes, as the reference writer does, so the data region starts 8-byte aligned.
 * The file is written to a temporary file beside the target, synced, and moved into place atomically:
 * readers never see a partial checkpoint.
 *
 * <p>{@code add} copies the data, so callers may keep changing their arrays; conversion to the stored
 * dtype happens in {@link #write}. Argument errors throw {@link IllegalArgumentException}.
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int WRITE_BUFFER_BYTES = 1 << 20;

    /** Stores elements {@code [from, from + count)} of a tensor's data into {@code out}, little-endian. */
    @FunctionalInterface
    private interface Encoder {
        void put(ByteBuffer out, int from, int count);
    }

    private record Entry(DType dtype, long[] shape, int length, Encoder encoder) {
        long byteLength() {
            return (long) length * dtype.byteSize();
        }
    }

    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    /** Adds a {@code __metadata__} entry (for example {@code "format": "pt"}). */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
        return this;
    }

    /**
     * Adds float data stored as F32, F16 or BF16; the 16-bit types round to nearest even.
     *
     * @param shape dimensions whose product equals {@code data.length}; none for a scalar
     */
    public SafetensorsWriter add(String name, DType dtype, float[] data, long... shape) {
        float[] copy = data.clone();
        Encoder encoder = switch (dtype) {
            case F32 -> (out, from, count) -> {
                out.asFloatBuffer().put(copy, from, count);
                out.position(out.position() + count * Float.BYTES);
            };
            case F16 -> (out, from, count) -> {
                for (int i = from; i < from + count; i++) {
                    out.putShort(FloatFormats.floatToFloat16(copy[i]));
                }
            };
            case BF16 -> (out, from, count) -> {
                for (int i = from; i < from + count; i++) {
                    out.putShort(FloatFormats.floatToBfloat16(copy[i]));
                }
            };
            default -> throw new IllegalArgumentException("tensor " + name
                    + ": float data is stored as F32, F16 or BF16, not " + dtype
                    + (dtype == DType.I64 ? " (use addLongs)" : ""));
        };
        return put(name, new Entry(dtype, checkShape(name, copy.length, shape), copy.length, encoder));
    }

    /**
     * Adds integer data stored as I64.
     *
     * @param shape dimensions whose product equals {@code data.length}; none for a scalar
     */
    public SafetensorsWriter addLongs(String name, long[] data, long... shape) {
        long[] copy = data.clone();
        return put(name, new Entry(DType.I64, checkShape(name, copy.length, shape), copy.length,
                (out, from, count) -> {
                    out.asLongBuffer().put(copy, from, count);
                    out.position(out.position() + count * Long.BYTES);
                }));
    }

    private SafetensorsWriter put(String name, Entry entry) {
        if (name.equals(Header.METADATA_KEY)) {
            throw new IllegalArgumentException(Header.METADATA_KEY + " is reserved and cannot name a tensor");
        }
        if (entries.putIfAbsent(name, entry) != null) {
            throw new IllegalArgumentException("tensor " + name + " added twice");
        }
        return this;
    }

    private static long[] checkShape(String name, int length, long[] shape) {
        String where = "tensor " + name + ": shape " + Arrays.toString(shape);
        long n = 1;
        for (long dim : shape) {
            if (dim < 0) {
                throw new IllegalArgumentException(where + " has a negative dimension");
            }
            try {
                n = Math.multiplyExact(n, dim);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException(where + " overflows a long");
            }
        }
        if (n != length) {
            throw new IllegalArgumentException(where + " holds " + n + " elements but the data has " + length);
        }
        return shape.clone();
    }

    /** Writes the file, replacing any existing one; creates missing parent folders. */
    public void write(Path file) throws IOException {
        byte[] header = headerBytes();
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        // Not Files.createTempFile: that creates the file owner-only (0600), and the move would keep that mode.
        Path tmp = dir.resolve("." + file.getFileName() + "." + UUID.randomUUID() + ".tmp");
        try {
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.allocate(WRITE_BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
                buffer.putLong(header.length);
                writeAll(out, buffer.flip());
                writeAll(out, ByteBuffer.wrap(header));
                buffer.clear();
                for (Entry entry : entries.values()) {
                    int from = 0;
                    while (from < entry.length()) {
                        if (buffer.remaining() < Long.BYTES) {
                            writeAll(out, buffer.flip());
                            buffer.clear();
                        }
                        int count = Math.min(entry.length() - from, buffer.remaining() / entry.dtype().byteSize());
                        entry.encoder().put(buffer, from, count);
                        from += count;
                    }
                }
                writeAll(out, buffer.flip());
                out.force(true); // the data must be durable before the rename publishes it
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /** The header JSON, keys in insertion order, padded with spaces to a multiple of 8 bytes. */
    private byte[] headerBytes() throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject(Header.METADATA_KEY);
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Entry> e : entries.entrySet()) {
            Entry entry = e.getValue();
            ObjectNode node = header.putObject(e.getKey());
            node.put("dtype", entry.dtype().name());
            ArrayNode shape = node.putArray("shape");
            for (long dim : entry.shape()) {
                shape.add(dim);
            }
            node.putArray("data_offsets").add(offset).add(offset + entry.byteLength());
            offset += entry.byteLength();
        }
        byte[] json = JSON.writeValueAsBytes(header);
        byte[] padded = Arrays.copyOf(json, (json.length + 7) / 8 * 8);
        Arrays.fill(padded, json.length, padded.length, (byte) ' ');
        return padded;
    }

    private static void writeAll(FileChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }
}
