package io.flinkmamba.safetensors;

import io.flinkmamba.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsFileTest {
    @TempDir
    Path dir;

    @Test
    void roundTripsEveryWritableDtype() throws Exception {
        float[] values = {1f, -2.5f, 0.1f, 3.14159f, -0f, 65504f};
        long[] ids = {0, -1, Long.MAX_VALUE, 42};
        Path file = dir.resolve("t.safetensors");
        new SafetensorsWriter().metadata("format", "pt")
                .add("f32", DType.F32, values, 2, 3)
                .add("f16", DType.F16, values, 6)
                .add("bf16", DType.BF16, values, 3, 2, 1)
                .add("scalar", DType.F32, new float[] {7f})
                .add("empty", DType.F32, new float[0], 0, 5)
                .addLongs("ids", ids, 2, 2)
                .write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(Map.of("format", "pt"), f.metadata());
            assertArrayEquals(values, f.readFloats("f32"));
            assertArrayEquals(new long[] {2, 3}, f.info("f32").shape());
            float[] f16 = f.readFloats("f16");
            float[] bf16 = f.readFloats("bf16");
            for (int i = 0; i < values.length; i++) {
                assertEquals(values[i], f16[i], Math.abs(values[i]) * 0x1p-11f);
                assertEquals(values[i], bf16[i], Math.abs(values[i]) * 0x1p-8f);
            }
            assertArrayEquals(new float[] {7f}, f.readFloats("scalar"));
            assertEquals("[]", f.info("scalar").shapeString());
            assertEquals(0, f.readFloats("empty").length);
            assertArrayEquals(ids, f.readLongs("ids"));
            assertTrue(assertThrows(SafetensorsException.class, () -> f.readLongs("f32")).getMessage()
                    .contains("expected an integer type"));
            assertTrue(assertThrows(SafetensorsException.class, () -> f.readFloats("ids")).getMessage()
                    .contains("expected a float type"));
            assertTrue(assertThrows(SafetensorsException.class, () -> f.info("nope")).getMessage()
                    .contains("no tensor named nope"));
        }
        // The data region starts 8-byte aligned, as the reference writer lays it out.
        long headerLength = ByteBuffer.wrap(Files.readAllBytes(file), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLength % 8);
    }

    @Test
    void halfPrecisionConversionsRoundToNearestEven() {
        float[] exact = {0f, 1f, -2.5f, 65504f, 0x1p-24f, -0x1p-14f, 1024f};
        for (float v : exact) {
            assertEquals(v, io.flinkmamba.tensor.FloatFormats.float16ToFloat(
                    io.flinkmamba.tensor.FloatFormats.floatToFloat16(v)));
        }
        // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1).
        assertEquals(1f, io.flinkmamba.tensor.FloatFormats.float16ToFloat(
                io.flinkmamba.tensor.FloatFormats.floatToFloat16(1f + 0x1p-11f)));
        assertEquals(1f + 0x1p-9f, io.flinkmamba.tensor.FloatFormats.float16ToFloat(
                io.flinkmamba.tensor.FloatFormats.floatToFloat16(1f + 0x1p-10f + 0x1p-11f)));
        assertEquals(Float.POSITIVE_INFINITY, io.flinkmamba.tensor.FloatFormats.float16ToFloat(
                io.flinkmamba.tensor.FloatFormats.floatToFloat16(70000f)));
        assertTrue(Float.isNaN(io.flinkmamba.tensor.FloatFormats.float16ToFloat(
                io.flinkmamba.tensor.FloatFormats.floatToFloat16(Float.NaN))));
        assertEquals(0x1p-24f, io.flinkmamba.tensor.FloatFormats.float16ToFloat(
                io.flinkmamba.tensor.FloatFormats.floatToFloat16(0x1.8p-25f)), "subnormal rounding");
        assertEquals(1f, io.flinkmamba.tensor.FloatFormats.bfloat16ToFloat(
                io.flinkmamba.tensor.FloatFormats.floatToBfloat16(1f + 0x1p-8f)), "bf16 tie to even");
        assertEquals(1f + 0x1p-6f, io.flinkmamba.tensor.FloatFormats.bfloat16ToFloat(
                io.flinkmamba.tensor.FloatFormats.floatToBfloat16(1f + 0x1p-7f + 0x1p-8f)));
        assertTrue(Float.isNaN(io.flinkmamba.tensor.FloatFormats.bfloat16ToFloat(
                io.flinkmamba.tensor.FloatFormats.floatToBfloat16(Float.NaN))));
    }

    @Test
    void checkpointFolderPrefersTheSingleFileAndNamesBothWhenAbsent() throws Exception {
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Safetensors.openCheckpoint(dir));
        assertTrue(e.getMessage().contains("model.safetensors") && e.getMessage().contains("index.json"));
        new SafetensorsWriter().add("a", DType.F32, new float[] {1f}, 1).write(dir.resolve("model.safetensors"));
        try (TensorSource source = Safetensors.openCheckpoint(dir)) {
            assertEquals(java.util.Set.of("a"), source.names());
        }
    }

    @Test
    void shardIndexErrorsNameTheTensorAndShard() throws Exception {
        new SafetensorsWriter().add("a", DType.F32, new float[] {1f}, 1).write(dir.resolve("s1.safetensors"));
        Files.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s1.safetensors\"}}");
        String msg = assertThrows(SafetensorsException.class,
                () -> Safetensors.openCheckpoint(dir)).getMessage();
        assertTrue(msg.contains("tensor b") && msg.contains("s1.safetensors"), msg);
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"weight_map\": {\"a\": \"s9.safetensors\"}}");
        msg = assertThrows(SafetensorsException.class, () -> Safetensors.openCheckpoint(dir)).getMessage();
        assertTrue(msg.contains("s9.safetensors") && msg.contains("does not exist"), msg);
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"metadata\": {}}");
        msg = assertThrows(SafetensorsException.class, () -> Safetensors.openCheckpoint(dir)).getMessage();
        assertTrue(msg.contains("weight_map"), msg);
    }

    // ---- malformed files, written byte by byte ----

    private Path raw(String header, int dataBytes) throws Exception {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        return rawBytes(json.length, json, dataBytes);
    }

    private Path rawBytes(long declaredLength, byte[] header, int dataBytes) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(declaredLength).array());
        out.write(header);
        out.write(new byte[dataBytes]);
        Path file = Files.createTempFile(dir, "bad", ".safetensors");
        Files.write(file, out.toByteArray());
        return file;
    }

    private static String failure(Path file) {
        return assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(file).close()).getMessage();
    }

    private static void assertMentions(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), "'" + message + "' should mention '" + part + "'");
        }
    }

    @Test
    void tooShortFile() throws Exception {
        Path file = dir.resolve("short.safetensors");
        Files.write(file, new byte[] {1, 2, 3});
        assertMentions(failure(file), "too short");
    }

    @Test
    void headerLengthOutOfBounds() throws Exception {
        assertMentions(failure(rawBytes(0, new byte[0], 0)), "header length 0", "out of bounds");
        assertMentions(failure(rawBytes(-5, new byte[0], 0)), "out of bounds");
        assertMentions(failure(rawBytes(1000, "{}".getBytes(StandardCharsets.UTF_8), 0)), "past the end", "truncated");
    }

    @Test
    void headerNotJsonObjectOrNotUtf8() throws Exception {
        assertMentions(failure(raw("{\"a\": ", 0)), "not valid JSON");
        assertMentions(failure(raw("[1, 2]", 0)), "not a JSON object");
        byte[] bad = {'{', '"', (byte) 0xff, '"', ':', '1', '}'};
        assertMentions(failure(rawBytes(bad.length, bad, 0)), "UTF-8");
        assertMentions(failure(raw("{\"__metadata__\": {\"a\": 1}}", 0)), "__metadata__");
        assertMentions(failure(raw("{\"w\": {\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + " \"w\": {\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8)), "w");
    }

    @Test
    void malformedEntries() throws Exception {
        assertMentions(failure(raw("{\"w\": 3}", 0)), "tensor w", "not an object");
        assertMentions(failure(raw("{\"w\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4)), "tensor w", "dtype");
        assertMentions(failure(raw("{\"w\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", 4)), "tensor w", "shape");
        assertMentions(failure(raw("{\"w\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4)), "tensor w", "data_offsets");
        assertMentions(failure(raw("{\"w\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", 4)),
                "tensor w", "invalid dimension");
    }

    @Test
    void unknownDtype() throws Exception {
        assertMentions(failure(raw("{\"w\": {\"dtype\": \"F8_E4M3\", \"shape\": [4], \"data_offsets\": [0, 4]}}", 4)),
                "tensor w", "F8_E4M3", "unknown");
    }

    @Test
    void offsetsOutOfBoundsReversedOrWrongSize() throws Exception {
        assertMentions(failure(raw("{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 8)),
                "tensor w", "truncated");
        assertMentions(failure(raw("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 4]}}", 8)),
                "tensor w", "begin > end");
        assertMentions(failure(raw("{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8)),
                "tensor w", "[3]", "needs 12 bytes", "span 8");
    }

    @Test
    void overlappingTensors() throws Exception {
        assertMentions(failure(raw("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                + " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", 12)), "a", "b", "overlap");
    }

    @Test
    void sharedReferenceFilesRead() throws Exception {
        Path ref = SharedData.require("testdata/mamba-reference/mamba1-tiny");
        try (SafetensorsFile model = SafetensorsFile.open(ref.resolve("model.safetensors"));
             SafetensorsFile expected = SafetensorsFile.open(ref.resolve("expected.safetensors"))) {
            assertEquals(DType.F32, model.info("backbone.embedding.weight").dtype());
            assertEquals("[104, 64]", model.info("backbone.embedding.weight").shapeString());
            assertEquals(DType.I64, expected.info("input_ids").dtype());
            assertEquals(4 * 48, expected.readLongs("input_ids").length);
        }
    }
}
