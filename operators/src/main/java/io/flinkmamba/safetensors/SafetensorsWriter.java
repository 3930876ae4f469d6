package io.flinkmamba.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flinkmamba.tensor.FloatFormats;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds a safetensors file: tensors in insertion order, the header padded with spaces to a multiple of
 * 8 bytes as the reference writer does, written to a temporary file and moved into place.
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Entry(String name, DType dtype, long[] shape, byte[] data) {}

    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final List<Entry> entries = new ArrayList<>();

    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Adds float data stored as F32, F16 or BF16 (rounded to nearest even). */
    public SafetensorsWriter add(String name, DType dtype, float[] data, long... shape) {
        checkShape(name, data.length, shape);
        ByteBuffer bytes = ByteBuffer.allocate(data.length * dtype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case F32 -> bytes.asFloatBuffer().put(data);
            case F16 -> {
                for (float v : data) {
                    bytes.putShort(FloatFormats.floatToFloat16(v));
                }
            }
            case BF16 -> {
                for (float v : data) {
                    bytes.putShort(FloatFormats.floatToBfloat16(v));
                }
            }
            default -> throw new IllegalArgumentException("float data can be stored as F32, F16 or BF16, not " + dtype);
        }
        entries.add(new Entry(name, dtype, shape.clone(), bytes.array()));
        return this;
    }

    /** Adds integer data stored as I64. */
    public SafetensorsWriter addLongs(String name, long[] data, long... shape) {
        checkShape(name, data.length, shape);
        ByteBuffer bytes = ByteBuffer.allocate(data.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asLongBuffer().put(data);
        entries.add(new Entry(name, DType.I64, shape.clone(), bytes.array()));
        return this;
    }

    private void checkShape(String name, int length, long[] shape) {
        long n = 1;
        for (long dim : shape) {
            if (dim < 0) {
                throw new IllegalArgumentException(name + ": negative dimension in shape");
            }
            n *= dim;
        }
        if (n != length) {
            throw new IllegalArgumentException(name + ": shape holds " + n + " elements, data has " + length);
        }
        for (Entry e : entries) {
            if (e.name().equals(name)) {
                throw new IllegalArgumentException("tensor " + name + " added twice");
            }
        }
    }

    public void write(Path file) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Entry e : entries) {
            ObjectNode node = header.putObject(e.name());
            node.put("dtype", e.dtype().name());
            ArrayNode shape = node.putArray("shape");
            for (long dim : e.shape()) {
                shape.add(dim);
            }
            node.putArray("data_offsets").add(offset).add(offset + e.data().length);
            offset += e.data().length;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        byte[] headerBytes = new byte[padded];
        System.arraycopy(json, 0, headerBytes, 0, json.length);
        for (int i = json.length; i < padded; i++) {
            headerBytes[i] = ' ';
        }
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
            out.write(headerBytes);
            for (Entry e : entries) {
                out.write(e.data());
            }
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
