package io.flinkmamba.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import io.flinkmamba.tensor.FloatFormats;

/**
 * One safetensors file: an 8-byte little-endian header length N, N bytes of JSON naming each tensor's
 * dtype, shape and byte range, then the data. The header is validated completely at open; tensor data
 * is memory-mapped when read, one tensor at a time, so files larger than 2 GiB work.
 */
public final class SafetensorsFile implements TensorSource {
    /** The reference implementation's limit; a larger header is a corrupt or hostile file. */
    private static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, Map<String, TensorInfo> tensors,
                            Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static SafetensorsFile open(Path file) throws SafetensorsException {
        FileChannel channel;
        try {
            channel = FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new SafetensorsException(file + ": cannot open: " + e, e);
        }
        try {
            return read(file, channel);
        } catch (SafetensorsException | RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    private static SafetensorsFile read(Path file, FileChannel channel) throws SafetensorsException {
        long size;
        ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        try {
            size = channel.size();
            if (size < 8) {
                throw new SafetensorsException(file + ": file of " + size + " bytes is too short for a safetensors header");
            }
            readFully(channel, lengthBytes, 0);
        } catch (IOException e) {
            throw e instanceof SafetensorsException se ? se : new SafetensorsException(file + ": " + e, e);
        }
        long headerLength = lengthBytes.getLong(0);
        if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES) {
            throw new SafetensorsException(file + ": header length " + Long.toUnsignedString(headerLength)
                    + " is out of bounds (1.." + MAX_HEADER_BYTES + " bytes)");
        }
        if (8 + headerLength > size) {
            throw new SafetensorsException(file + ": header length " + headerLength + " runs past the end of the "
                    + size + "-byte file (truncated?)");
        }
        ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
        try {
            readFully(channel, headerBytes, 8);
        } catch (IOException e) {
            throw new SafetensorsException(file + ": " + e, e);
        }
        headerBytes.flip();
        String headerText;
        try {
            headerText = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(headerBytes).toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsException(file + ": header is not valid UTF-8", e);
        }
        JsonNode header;
        try {
            header = JSON.readTree(headerText);
        } catch (JsonProcessingException e) {
            throw new SafetensorsException(file + ": header is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (header == null || !header.isObject()) {
            throw new SafetensorsException(file + ": header is not a JSON object");
        }
        long dataStart = 8 + headerLength;
        long dataSize = size - dataStart;
        Map<String, String> metadata = Collections.emptyMap();
        Map<String, TensorInfo> tensors = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            if (entry.getKey().equals("__metadata__")) {
                metadata = parseMetadata(file, entry.getValue());
            } else {
                TensorInfo info = parseEntry(file, entry.getKey(), entry.getValue(), dataSize);
                tensors.put(info.name(), info);
            }
        }
        checkNoOverlap(file, tensors.values());
        return new SafetensorsFile(file, channel, dataStart, Collections.unmodifiableMap(tensors), metadata);
    }

    private static Map<String, String> parseMetadata(Path file, JsonNode node) throws SafetensorsException {
        if (!node.isObject()) {
            throw new SafetensorsException(file + ": __metadata__ must be an object of strings");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new SafetensorsException(file + ": __metadata__ value of '" + e.getKey() + "' is not a string");
            }
            metadata.put(e.getKey(), e.getValue().asText());
        }
        return Collections.unmodifiableMap(metadata);
    }

    private static TensorInfo parseEntry(Path file, String name, JsonNode node, long dataSize)
            throws SafetensorsException {
        String where = file + ": tensor " + name;
        if (!node.isObject()) {
            throw new SafetensorsException(where + ": header entry is not an object");
        }
        JsonNode dtype = node.get("dtype");
        JsonNode shape = node.get("shape");
        JsonNode offsets = node.get("data_offsets");
        if (dtype == null || !dtype.isTextual()) {
            throw new SafetensorsException(where + ": missing or non-string dtype");
        }
        if (shape == null || !shape.isArray()) {
            throw new SafetensorsException(where + ": missing or non-array shape");
        }
        if (offsets == null || !offsets.isArray() || offsets.size() != 2
                || !offsets.get(0).isIntegralNumber() || !offsets.get(1).isIntegralNumber()) {
            throw new SafetensorsException(where + ": data_offsets must be an array of two integers");
        }
        DType type = DType.parse(dtype.asText(), name, file);
        long[] dims = new long[shape.size()];
        for (int i = 0; i < dims.length; i++) {
            JsonNode dim = shape.get(i);
            if (!dim.isIntegralNumber() || !dim.canConvertToLong() || dim.asLong() < 0) {
                throw new SafetensorsException(where + ": shape " + shape + " has an invalid dimension " + dim);
            }
            dims[i] = dim.asLong();
        }
        if (!offsets.get(0).canConvertToLong() || !offsets.get(1).canConvertToLong()) {
            throw new SafetensorsException(where + ": data_offsets " + offsets + " out of range");
        }
        long begin = offsets.get(0).asLong();
        long end = offsets.get(1).asLong();
        if (begin < 0 || begin > end) {
            throw new SafetensorsException(where + ": data_offsets " + offsets + " are invalid (begin > end)");
        }
        if (end > dataSize) {
            throw new SafetensorsException(where + ": data_offsets end " + end + " lies past the " + dataSize
                    + "-byte data region (file truncated?)");
        }
        TensorInfo info = new TensorInfo(name, type, dims, begin, end);
        long bytes;
        try {
            bytes = Math.multiplyExact(info.numel(), type.byteSize());
        } catch (ArithmeticException e) {
            throw new SafetensorsException(where + ": shape " + info.shapeString() + " overflows");
        }
        if (bytes != end - begin) {
            throw new SafetensorsException(where + ": shape " + info.shapeString() + " of dtype " + type + " needs "
                    + bytes + " bytes but data_offsets span " + (end - begin));
        }
        return info;
    }

    private static void checkNoOverlap(Path file, Iterable<TensorInfo> infos) throws SafetensorsException {
        List<TensorInfo> sorted = new ArrayList<>();
        infos.forEach(sorted::add);
        sorted.removeIf(t -> t.begin() == t.end());
        sorted.sort(Comparator.comparingLong(TensorInfo::begin));
        for (int i = 1; i < sorted.size(); i++) {
            TensorInfo prev = sorted.get(i - 1);
            TensorInfo next = sorted.get(i);
            if (next.begin() < prev.end()) {
                throw new SafetensorsException(file + ": tensors " + prev.name() + " " + range(prev) + " and "
                        + next.name() + " " + range(next) + " overlap");
            }
        }
    }

    private static String range(TensorInfo t) {
        return "[" + t.begin() + ", " + t.end() + ")";
    }

    @Override
    public Set<String> names() {
        return tensors.keySet();
    }

    @Override
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    @Override
    public TensorInfo info(String name) throws SafetensorsException {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new SafetensorsException(path + ": no tensor named " + name);
        }
        return info;
    }

    @Override
    public float[] readFloats(String name) throws SafetensorsException {
        TensorInfo info = info(name);
        if (!info.dtype().isFloat()) {
            throw new SafetensorsException(path + ": tensor " + name + " has dtype " + info.dtype()
                    + ", expected a float type (F32, F16, BF16, F64)");
        }
        int n = elementCount(info);
        float[] out = new float[n];
        ByteBuffer data = map(info);
        switch (info.dtype()) {
            case F32 -> data.asFloatBuffer().get(out);
            case F64 -> {
                double[] wide = new double[n];
                data.asDoubleBuffer().get(wide);
                for (int i = 0; i < n; i++) {
                    out[i] = (float) wide[i];
                }
            }
            case F16, BF16 -> {
                short[] half = new short[n];
                data.asShortBuffer().get(half);
                boolean f16 = info.dtype() == DType.F16;
                for (int i = 0; i < n; i++) {
                    out[i] = f16 ? FloatFormats.float16ToFloat(half[i]) : FloatFormats.bfloat16ToFloat(half[i]);
                }
            }
            default -> throw new IllegalStateException(info.dtype().toString());
        }
        return out;
    }

    @Override
    public long[] readLongs(String name) throws SafetensorsException {
        TensorInfo info = info(name);
        int n = elementCount(info);
        long[] out = new long[n];
        ByteBuffer data = map(info);
        switch (info.dtype()) {
            case I64 -> data.asLongBuffer().get(out);
            case I32 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = data.getInt(i * 4);
                }
            }
            case I16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = data.getShort(i * 2);
                }
            }
            case I8 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = data.get(i);
                }
            }
            case U8 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = data.get(i) & 0xff;
                }
            }
            default -> throw new SafetensorsException(path + ": tensor " + name + " has dtype " + info.dtype()
                    + ", expected an integer type (I64, I32, I16, I8, U8)");
        }
        return out;
    }

    private int elementCount(TensorInfo info) throws SafetensorsException {
        long n = info.numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new SafetensorsException(path + ": tensor " + info.name() + " has " + n
                    + " elements, more than one Java array holds");
        }
        return (int) n;
    }

    private ByteBuffer map(TensorInfo info) throws SafetensorsException {
        long length = info.end() - info.begin();
        if (length == 0) {
            return ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN);
        }
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + info.begin(), length)
                    .order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new SafetensorsException(path + ": tensor " + info.name() + ": cannot read: " + e, e);
        }
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, position + buffer.position());
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Read-only: nothing to lose.
        }
    }
}
