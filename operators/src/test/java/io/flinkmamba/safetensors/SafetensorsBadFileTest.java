package io.flinkmamba.safetensors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.flinkmamba.safetensors.RawFiles.assertMentions;
import static io.flinkmamba.safetensors.RawFiles.openFailure;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Each malformed file is refused at open with a message naming the file, the problem and the tensor. */
class SafetensorsBadFileTest {
    private static final String T = "layers.0.weight";

    @TempDir
    Path dir;

    private Path file(String json, long dataBytes) throws Exception {
        return RawFiles.write(dir.resolve("bad.safetensors"), json, dataBytes);
    }

    /** A header with the single entry {@code "layers.0.weight": entry}. */
    private Path entry(String entry, long dataBytes) throws Exception {
        return file("{\"" + T + "\": " + entry + "}", dataBytes);
    }

    @Test
    void missingFile() {
        assertMentions(openFailure(dir.resolve("absent.safetensors")), "no such file");
    }

    @Test
    void fileShorterThanEightBytes() throws Exception {
        Path file = dir.resolve("short.safetensors");
        Files.write(file, new byte[] {1, 2, 3});
        assertMentions(openFailure(file), "3 bytes", "too short");
    }

    @Test
    void headerLengthZero() throws Exception {
        assertMentions(openFailure(RawFiles.write(dir.resolve("zero.safetensors"), 0, new byte[0], 16)),
                "header length is 0");
    }

    @Test
    void headerLengthOver100MB() throws Exception {
        Path file = RawFiles.write(dir.resolve("huge.safetensors"), 100_000_001, "{}".getBytes(StandardCharsets.UTF_8), 0);
        assertMentions(openFailure(file), "header length 100000001", "exceeds", "limit");
    }

    @Test
    void headerLengthAboveTwoToThe63IsReadUnsigned() throws Exception {
        Path file = RawFiles.write(dir.resolve("neg.safetensors"), -1, "{}".getBytes(StandardCharsets.UTF_8), 0);
        assertMentions(openFailure(file), "header length 18446744073709551615", "exceeds");
    }

    @Test
    void headerLengthPastEndOfFile() throws Exception {
        Path file = RawFiles.write(dir.resolve("cut.safetensors"), 1000, "{}".getBytes(StandardCharsets.UTF_8), 0);
        assertMentions(openFailure(file), "header length 1000", "past the end", "truncated");
    }

    @Test
    void headerNotUtf8() throws Exception {
        byte[] header = {'{', '"', (byte) 0xff, '"', ':', '{', '}', '}'};
        assertMentions(openFailure(RawFiles.write(dir.resolve("latin.safetensors"), header.length, header, 0)),
                "not valid UTF-8");
    }

    @Test
    void headerNotJson() throws Exception {
        assertMentions(openFailure(file("{\"" + T + "\": ", 0)), "not valid JSON");
    }

    @Test
    void headerWithTrailingGarbage() throws Exception {
        assertMentions(openFailure(file("{} {}", 0)), "not valid JSON");
    }

    @Test
    void headerNotJsonObject() throws Exception {
        assertMentions(openFailure(file("[1, 2]", 0)), "not a JSON object", "array");
    }

    @Test
    void headerOnlySpaces() throws Exception {
        assertMentions(openFailure(file("        ", 0)), "not a JSON object", "empty");
    }

    @Test
    void duplicateTensorName() throws Exception {
        String e = "{\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}";
        assertMentions(openFailure(file("{\"" + T + "\": " + e + ", \"" + T + "\": " + e + "}", 4)),
                "not valid JSON", "Duplicate", T);
    }

    @Test
    void entryNotAnObject() throws Exception {
        assertMentions(openFailure(entry("[0, 4]", 4)), "tensor " + T, "is an array, not an object");
    }

    @Test
    void entryMissingDtype() throws Exception {
        assertMentions(openFailure(entry("{\"shape\": [1], \"data_offsets\": [0, 4]}", 4)),
                "tensor " + T, "dtype", "missing");
    }

    @Test
    void entryMissingShape() throws Exception {
        assertMentions(openFailure(entry("{\"dtype\": \"F32\", \"data_offsets\": [0, 4]}", 4)),
                "tensor " + T, "shape", "missing");
    }

    @Test
    void entryMissingDataOffsets() throws Exception {
        assertMentions(openFailure(entry("{\"dtype\": \"F32\", \"shape\": [1]}", 4)),
                "tensor " + T, "data_offsets", "missing");
    }

    @Test
    void dtypeNotAString() throws Exception {
        assertMentions(openFailure(entry("{\"dtype\": 4, \"shape\": [1], \"data_offsets\": [0, 4]}", 4)),
                "tensor " + T, "dtype must be a string");
    }

    @Test
    void shapeNotAnArray() throws Exception {
        assertMentions(openFailure(entry("{\"dtype\": \"F32\", \"shape\": \"[1]\", \"data_offsets\": [0, 4]}", 4)),
                "tensor " + T, "shape must be an array");
    }

    @ParameterizedTest
    @ValueSource(strings = {"[1.5]", "[\"1\"]", "[null]", "[1e30]"})
    void shapeDimensionNotAnInteger(String shape) throws Exception {
        assertMentions(openFailure(entry("{\"dtype\": \"F32\", \"shape\": " + shape + ", \"data_offsets\": [0, 4]}", 4)),
                "tensor " + T, "not an integer");
    }

    @ParameterizedTest
    @ValueSource(strings = {"[0]", "[0, 4, 8]", "[0, \"4\"]", "[0, 4.0]", "{\"begin\": 0}", "[0, 99999999999999999999]"})
    void dataOffsetsNotTwoIntegers(String offsets) throws Exception {
        assertMentions(openFailure(entry("{\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": " + offsets + "}", 8)),
                "tensor " + T, "data_offsets must be an array of two integers");
    }

    @Test
    void negativeShapeDimension() throws Exception {
        assertMentions(openFailure(entry("{\"dtype\": \"F32\", \"shape\": [2, -1], \"data_offsets\": [0, 4]}", 4)),
                "tensor " + T, "negative dimension -1");
    }

    @Test
    void unknownDtype() throws Exception {
        assertMentions(openFailure(entry("{\"dtype\": \"F8_E4M3\", \"shape\": [4], \"data_offsets\": [0, 4]}", 4)),
                "tensor " + T, "'F8_E4M3'", "unknown");
    }

    @Test
    void negativeBegin() throws Exception {
        assertMentions(openFailure(entry("{\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [-4, 0]}", 4)),
                "tensor " + T, "begin below 0");
    }

    @Test
    void beginAfterEnd() throws Exception {
        assertMentions(openFailure(entry("{\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 4]}", 8)),
                "tensor " + T, "begin > end");
    }

    @Test
    void endBeyondDataRegion() throws Exception {
        assertMentions(openFailure(entry("{\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}", 12)),
                "tensor " + T, "end 16", "12-byte data region", "truncated");
    }

    @Test
    void byteRangeDisagreesWithShape() throws Exception {
        assertMentions(openFailure(entry("{\"dtype\": \"BF16\", \"shape\": [3, 2], \"data_offsets\": [0, 8]}", 8)),
                "tensor " + T, "shape [3, 2] of dtype BF16 needs 12 bytes but data_offsets span 8");
    }

    @Test
    void numelOverflow() throws Exception {
        assertMentions(openFailure(entry("{\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296],"
                + " \"data_offsets\": [0, 0]}", 0)), "tensor " + T, "[4294967296, 4294967296]", "overflows");
    }

    @Test
    void byteSizeOverflow() throws Exception {
        // numel 2^62 fits in a long, its 2^64 bytes as F64 do not.
        assertMentions(openFailure(entry("{\"dtype\": \"F64\", \"shape\": [4611686018427387904],"
                + " \"data_offsets\": [0, 0]}", 0)), "tensor " + T, "overflows");
    }

    @Test
    void overlappingTensors() throws Exception {
        Path file = file("{\"first\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 12]},"
                + " \"zero\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [4, 4]},"
                + " \"second\": {\"dtype\": \"I32\", \"shape\": [2], \"data_offsets\": [8, 16]}}", 16);
        assertMentions(openFailure(file), "first [0, 12)", "second [8, 16)", "overlap");
    }

    @Test
    void metadataNotAnObject() throws Exception {
        assertMentions(openFailure(file("{\"__metadata__\": [\"pt\"]}", 0)),
                "__metadata__ must be an object of strings, not an array");
    }

    @Test
    void metadataValueNotAString() throws Exception {
        assertMentions(openFailure(file("{\"__metadata__\": {\"format\": \"pt\", \"step\": 3}}", 0)),
                "__metadata__ value of 'step' is a number, not a string");
    }

    @Test
    void missingTensorNamesTensorAndFile() throws Exception {
        Path file = file("{\"" + T + "\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 4]}}", 4);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertMentions(assertThrows(SafetensorsException.class, () -> f.info("layers.1.weight")).getMessage(),
                    file.toString(), "no tensor named layers.1.weight");
            assertMentions(assertThrows(SafetensorsException.class, () -> f.readFloats("nope")).getMessage(),
                    file.toString(), "nope");
        }
    }

    @Test
    void readWithTheWrongDtypeFamily() throws Exception {
        Path file = file("{\"f\": {\"dtype\": \"F16\", \"shape\": [2], \"data_offsets\": [0, 4]},"
                + " \"i\": {\"dtype\": \"I32\", \"shape\": [1], \"data_offsets\": [4, 8]},"
                + " \"b\": {\"dtype\": \"BOOL\", \"shape\": [8], \"data_offsets\": [8, 16]}}", 16);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertMentions(assertThrows(SafetensorsException.class, () -> f.readLongs("f")).getMessage(),
                    file.toString(), "tensor f", "dtype F16", "use readFloats");
            assertMentions(assertThrows(SafetensorsException.class, () -> f.readFloats("i")).getMessage(),
                    file.toString(), "tensor i", "dtype I32", "use readLongs");
            assertMentions(assertThrows(SafetensorsException.class, () -> f.readLongs("b")).getMessage(),
                    "tensor b", "dtype BOOL");
            assertMentions(assertThrows(SafetensorsException.class, () -> f.readFloats("b")).getMessage(),
                    "tensor b", "dtype BOOL");
        }
    }

    @Test
    void readAfterClose() throws Exception {
        Path file = file("{\"" + T + "\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4);
        SafetensorsFile f = SafetensorsFile.open(file);
        f.close();
        assertMentions(assertThrows(SafetensorsException.class, () -> f.readFloats(T)).getMessage(),
                file.toString(), T, "closed");
    }

    @Test
    void dtypeParseNamesTheDtype() {
        assertMentions(assertThrows(SafetensorsException.class, () -> DType.parse("f32")).getMessage(), "'f32'");
    }
}
