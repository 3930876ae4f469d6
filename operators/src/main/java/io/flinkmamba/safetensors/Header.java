package io.flinkmamba.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The parsed and fully validated header of one safetensors file. Everything a later read relies on is
 * checked here, so reads never meet a malformed entry.
 *
 * @param dataStart file position of the data region, which tensor offsets are relative to
 * @param tensors entries by name, sorted
 * @param metadata the {@code __metadata__} object, in file order
 */
record Header(long dataStart, Map<String, TensorInfo> tensors, Map<String, String> metadata) {

    /** The reference implementation's limit; a larger header is a corrupt or hostile file. */
    static final long MAX_HEADER_BYTES = 100_000_000L;

    static final String METADATA_KEY = "__metadata__";

    // Duplicate tensor names and trailing bytes after the JSON object make a header ambiguous: refuse them.
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    static Header read(Path file, FileChannel channel) throws SafetensorsException {
        long size;
        try {
            size = channel.size();
        } catch (IOException e) {
            throw new SafetensorsException(file + ": cannot read: " + e, e);
        }
        if (size < 8) {
            throw new SafetensorsException(file + ": file of " + size
                    + " bytes is too short for the 8-byte header length (not a safetensors file?)");
        }
        long headerLength = readFully(file, channel, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (headerLength == 0) {
            throw new SafetensorsException(file + ": header length is 0 (not a safetensors file?)");
        }
        // A u64 read as a signed long: values of 2^63 and more come out negative.
        if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
            throw new SafetensorsException(file + ": header length " + Long.toUnsignedString(headerLength)
                    + " exceeds the " + MAX_HEADER_BYTES + "-byte limit (corrupt, or not a safetensors file?)");
        }
        if (headerLength > size - 8) {
            throw new SafetensorsException(file + ": header length " + headerLength + " runs past the end of the "
                    + size + "-byte file (truncated?)");
        }
        JsonNode root = parseJson(file, readFully(file, channel, 8, (int) headerLength));
        long dataStart = 8 + headerLength;
        long dataSize = size - dataStart;
        Map<String, String> metadata = Collections.emptyMap();
        Map<String, TensorInfo> tensors = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            if (entry.getKey().equals(METADATA_KEY)) {
                metadata = parseMetadata(file, entry.getValue());
            } else {
                tensors.put(entry.getKey(), parseEntry(file, entry.getKey(), entry.getValue(), dataSize));
            }
        }
        checkNoOverlap(file, tensors.values());
        return new Header(dataStart, Collections.unmodifiableMap(tensors), metadata);
    }

    private static ByteBuffer readFully(Path file, FileChannel channel, long position, int length)
            throws SafetensorsException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        try {
            while (buffer.hasRemaining()) {
                if (channel.read(buffer, position + buffer.position()) < 0) {
                    throw new EOFException("file ended while reading the header");
                }
            }
        } catch (IOException e) {
            throw new SafetensorsException(file + ": cannot read the header: " + e, e);
        }
        return buffer.flip();
    }

    private static JsonNode parseJson(Path file, ByteBuffer bytes) throws SafetensorsException {
        String text;
        try {
            // Strict decoding: the JDK's default replaces malformed bytes silently.
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(bytes).toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsException(file + ": header is not valid UTF-8", e);
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new SafetensorsException(file + ": header is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsException(file + ": header is not a JSON object but "
                    + (root == null || root.isMissingNode() ? "empty" : kind(root)));
        }
        return root;
    }

    private static Map<String, String> parseMetadata(Path file, JsonNode node) throws SafetensorsException {
        if (!node.isObject()) {
            throw new SafetensorsException(file + ": " + METADATA_KEY + " must be an object of strings, not "
                    + kind(node));
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new SafetensorsException(file + ": " + METADATA_KEY + " value of '" + e.getKey() + "' is "
                        + kind(e.getValue()) + ", not a string");
            }
            metadata.put(e.getKey(), e.getValue().textValue());
        }
        return Collections.unmodifiableMap(metadata);
    }

    private static TensorInfo parseEntry(Path file, String name, JsonNode node, long dataSize)
            throws SafetensorsException {
        String where = file + ": tensor " + name;
        if (!node.isObject()) {
            throw new SafetensorsException(where + ": header entry is " + kind(node) + ", not an object");
        }
        JsonNode dtype = node.get("dtype");
        JsonNode shape = node.get("shape");
        JsonNode offsets = node.get("data_offsets");
        if (dtype == null || !dtype.isTextual()) {
            throw new SafetensorsException(where + ": dtype must be a string, " + found(dtype));
        }
        if (shape == null || !shape.isArray()) {
            throw new SafetensorsException(where + ": shape must be an array of integers, " + found(shape));
        }
        if (offsets == null || !offsets.isArray() || offsets.size() != 2
                || !isLong(offsets.get(0)) || !isLong(offsets.get(1))) {
            throw new SafetensorsException(where + ": data_offsets must be an array of two integers, "
                    + found(offsets));
        }
        DType type;
        try {
            type = DType.parse(dtype.textValue());
        } catch (SafetensorsException e) {
            throw new SafetensorsException(where + ": " + e.getMessage());
        }
        long[] dims = new long[shape.size()];
        for (int i = 0; i < dims.length; i++) {
            JsonNode dim = shape.get(i);
            if (!isLong(dim)) {
                throw new SafetensorsException(where + ": shape " + shape + " has a dimension " + dim
                        + " that is not an integer");
            }
            if (dim.longValue() < 0) {
                throw new SafetensorsException(where + ": shape " + shape + " has a negative dimension " + dim);
            }
            dims[i] = dim.longValue();
        }
        long begin = offsets.get(0).longValue();
        long end = offsets.get(1).longValue();
        if (begin < 0) {
            throw new SafetensorsException(where + ": data_offsets " + offsets + " begin below 0");
        }
        if (begin > end) {
            throw new SafetensorsException(where + ": data_offsets " + offsets + " are reversed (begin > end)");
        }
        TensorInfo info = new TensorInfo(name, type, dims, begin, end);
        long bytes;
        try {
            bytes = Math.multiplyExact(info.numel(), type.byteSize());
        } catch (ArithmeticException e) {
            throw new SafetensorsException(where + ": shape " + info.shapeString() + " of dtype " + type
                    + " overflows: its size in bytes does not fit in 64 bits");
        }
        if (end > dataSize) {
            throw new SafetensorsException(where + ": data_offsets end " + end + " lies past the " + dataSize
                    + "-byte data region (file truncated?)");
        }
        if (bytes != end - begin) {
            throw new SafetensorsException(where + ": shape " + info.shapeString() + " of dtype " + type + " needs "
                    + bytes + " bytes but data_offsets span " + (end - begin));
        }
        return info;
    }

    /**
     * Sorted by begin, ranges overlap exactly when some neighbouring pair does. Empty tensors hold no bytes
     * and may sit anywhere.
     */
    private static void checkNoOverlap(Path file, Iterable<TensorInfo> infos) throws SafetensorsException {
        List<TensorInfo> sorted = new ArrayList<>();
        for (TensorInfo info : infos) {
            if (info.begin() < info.end()) {
                sorted.add(info);
            }
        }
        sorted.sort(Comparator.comparingLong(TensorInfo::begin));
        for (int i = 1; i < sorted.size(); i++) {
            TensorInfo prev = sorted.get(i - 1);
            TensorInfo next = sorted.get(i);
            if (next.begin() < prev.end()) {
                throw new SafetensorsException(file + ": tensors " + prev.name() + " [" + prev.begin() + ", "
                        + prev.end() + ") and " + next.name() + " [" + next.begin() + ", " + next.end()
                        + ") overlap");
            }
        }
    }

    private static boolean isLong(JsonNode node) {
        return node.isIntegralNumber() && node.canConvertToLong();
    }

    private static String found(JsonNode node) {
        return node == null ? "but it is missing" : "not " + node;
    }

    /** The JSON type of a node with its article, for messages: "an array", "a number", "null". */
    private static String kind(JsonNode node) {
        return switch (node.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case NUMBER -> "a number";
            case STRING -> "a string";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            default -> "a " + node.getNodeType().name().toLowerCase(Locale.ROOT);
        };
    }
}
