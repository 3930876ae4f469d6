package io.flinkmamba.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static io.flinkmamba.safetensors.RawFiles.assertMentions;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Writer to reader round trips, the on-disk layout, large files, and the shared reference checkpoint. */
class SafetensorsRoundTripTest {
    @TempDir
    Path dir;

    private static float[] ramp(int n, float scale) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (i - n / 3) * scale;
        }
        return out;
    }

    @Test
    void roundTripsOddShapesInEveryWritableDtype() throws Exception {
        float[] f32 = ramp(3 * 5 * 7, 0.37f);
        float[] halfExact = ramp(13, 0.5f); // multiples of 0.5 below 8: exact in F16 and BF16
        long[] ids = {0, -1, Long.MAX_VALUE, Long.MIN_VALUE, 42, 7};
        Path file = dir.resolve("t.safetensors");
        new SafetensorsWriter().metadata("format", "pt").metadata("note", "ünïcode")
                .add("f32", DType.F32, f32, 3, 5, 7)
                .add("f16", DType.F16, halfExact, 1, 1, 13)
                .add("bf16", DType.BF16, halfExact, 13, 1)
                .add("scalar", DType.F32, new float[] {-7.25f})
                .add("empty", DType.F16, new float[0], 0, 5)
                .add("empty2", DType.F32, new float[0], 7, 0)
                .addLongs("ids", ids, 2, 3)
                .addLongs("step", new long[] {123})
                .write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(Map.of("format", "pt", "note", "ünïcode"), f.metadata());
            assertEquals(List.of("bf16", "empty", "empty2", "f16", "f32", "ids", "scalar", "step"),
                    new ArrayList<>(f.names()));
            assertTrue(f.contains("f16"));
            assertFalse(f.contains("__metadata__"));
            assertEquals(file, f.path());

            assertArrayEquals(f32, f.readFloats("f32"));
            assertArrayEquals(new long[] {3, 5, 7}, f.info("f32").shape());
            assertEquals(DType.F32, f.info("f32").dtype());
            assertArrayEquals(halfExact, f.readFloats("f16"));
            assertEquals("[1, 1, 13]", f.info("f16").shapeString());
            assertArrayEquals(halfExact, f.readFloats("bf16"));
            assertEquals(DType.BF16, f.info("bf16").dtype());

            assertArrayEquals(new float[] {-7.25f}, f.readFloats("scalar"));
            assertEquals("[]", f.info("scalar").shapeString());
            assertEquals(1, f.info("scalar").numel());

            assertEquals(0, f.readFloats("empty").length);
            assertEquals("[0, 5]", f.info("empty").shapeString());
            assertEquals(0, f.readFloats("empty2").length);

            assertArrayEquals(ids, f.readLongs("ids"));
            assertEquals(DType.I64, f.info("ids").dtype());
            assertArrayEquals(new long[] {123}, f.readLongs("step"));
            assertEquals(0, f.info("step").shape().length);

            // Reads return fresh arrays: changing one does not change the next.
            f.readFloats("f32")[0] = 99f;
            assertEquals(f32[0], f.readFloats("f32")[0]);
        }
    }

    @Test
    void headerIsPaddedInsertionOrderedAndContiguous() throws Exception {
        Path file = dir.resolve("layout.safetensors");
        new SafetensorsWriter().metadata("format", "pt")
                .add("z", DType.F16, new float[3], 3)
                .addLongs("a", new long[] {1, 2}, 2)
                .add("m", DType.F32, new float[] {1f}, 1)
                .write(file);
        byte[] bytes = Files.readAllBytes(file);
        long headerLength = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, headerLength % 8, "data region starts 8-byte aligned");
        String header = new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8);
        int jsonEnd = header.lastIndexOf('}') + 1;
        assertTrue(header.startsWith("{") && header.length() - jsonEnd < 8, header);
        assertEquals(" ".repeat(header.length() - jsonEnd), header.substring(jsonEnd), "padded with spaces");
        JsonNode json = new ObjectMapper().readTree(header);
        List<String> keys = new ArrayList<>();
        json.fieldNames().forEachRemaining(keys::add);
        assertEquals(List.of("__metadata__", "z", "a", "m"), keys);
        assertEquals("[0,6]", json.get("z").get("data_offsets").toString());
        assertEquals("[6,22]", json.get("a").get("data_offsets").toString());
        assertEquals("[22,26]", json.get("m").get("data_offsets").toString());
        assertEquals(8 + headerLength + 26, bytes.length);
    }

    @Test
    void writeReplacesAtomicallyAndLeavesNoTemporaryFiles() throws Exception {
        Path file = dir.resolve("sub/model.safetensors");
        new SafetensorsWriter().add("w", DType.F32, new float[] {1f}, 1).write(file);
        new SafetensorsWriter().add("w", DType.F32, new float[] {2f, 3f}, 2).write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertArrayEquals(new float[] {2f, 3f}, f.readFloats("w"));
        }
        try (Stream<Path> files = Files.list(file.getParent())) {
            assertEquals(List.of(file), files.toList());
        }
    }

    @Test
    void writerCopiesDataAndRejectsBadArguments() throws Exception {
        float[] data = {1f, 2f};
        SafetensorsWriter writer = new SafetensorsWriter().add("w", DType.F32, data, 2);
        data[0] = 5f; // after add: must not reach the file
        Path file = dir.resolve("copy.safetensors");
        writer.write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertArrayEquals(new float[] {1f, 2f}, f.readFloats("w"));
        }
        SafetensorsWriter w = new SafetensorsWriter();
        assertMentions(assertThrows(IllegalArgumentException.class,
                () -> w.add("x", DType.F32, new float[5], 2, 3)).getMessage(), "x", "[2, 3]", "6 elements", "5");
        assertMentions(assertThrows(IllegalArgumentException.class,
                () -> w.add("x", DType.I64, new float[1], 1)).getMessage(), "x", "I64", "addLongs");
        assertMentions(assertThrows(IllegalArgumentException.class,
                () -> w.addLongs("x", new long[1], -1)).getMessage(), "negative");
        assertMentions(assertThrows(IllegalArgumentException.class,
                () -> w.add("__metadata__", DType.F32, new float[1])).getMessage(), "reserved");
        w.addLongs("x", new long[1]);
        assertMentions(assertThrows(IllegalArgumentException.class,
                () -> w.add("x", DType.F32, new float[1])).getMessage(), "x", "twice");
    }

    @Test
    void readsNarrowIntegerAndF64TensorsWrittenByHand() throws Exception {
        ByteBuffer data = ByteBuffer.allocate(8 + 2 * 4 + 2 * 2 + 2 + 2).order(ByteOrder.LITTLE_ENDIAN);
        data.putDouble(-1.0e-3).putInt(-5).putInt(Integer.MAX_VALUE).putShort((short) -300).putShort((short) 7)
                .put((byte) -1).put((byte) 127).put((byte) -1).put((byte) 200);
        String json = "{\"d\": {\"dtype\": \"F64\", \"shape\": [], \"data_offsets\": [0, 8]},"
                + " \"i32\": {\"dtype\": \"I32\", \"shape\": [2], \"data_offsets\": [8, 16]},"
                + " \"i16\": {\"dtype\": \"I16\", \"shape\": [2], \"data_offsets\": [16, 20]},"
                + " \"i8\": {\"dtype\": \"I8\", \"shape\": [2], \"data_offsets\": [20, 22]},"
                + " \"u8\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [22, 24]}}";
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        Path file = dir.resolve("narrow.safetensors");
        ByteBuffer all = ByteBuffer.allocate(8 + header.length + data.capacity()).order(ByteOrder.LITTLE_ENDIAN);
        all.putLong(header.length).put(header).put(data.array());
        Files.write(file, all.array());
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertArrayEquals(new float[] {-1.0e-3f}, f.readFloats("d"));
            assertArrayEquals(new long[] {-5, Integer.MAX_VALUE}, f.readLongs("i32"));
            assertArrayEquals(new long[] {-300, 7}, f.readLongs("i16"));
            assertArrayEquals(new long[] {-1, 127}, f.readLongs("i8"));
            assertArrayEquals(new long[] {255, 200}, f.readLongs("u8"));
        }
    }

    /** Tensors larger than one mapped chunk are read across chunk boundaries, in bulk. */
    @Test
    void readsTensorsSpanningSeveralChunks() throws Exception {
        int n32 = (int) (100_000_000L / 4) + 3; // ~100 MB of F32
        int n16 = (int) (SafetensorsFile.CHUNK_BYTES / 2) + 5;
        int n64 = (int) (SafetensorsFile.CHUNK_BYTES / 8) + 9;
        float[] f32 = ramp(n32, 1e-3f);
        float[] f16 = new float[n16];
        for (int i = 0; i < n16; i++) {
            f16[i] = (i % 2048) - 1024; // integers up to 2048 are exact in F16
        }
        long[] i64 = new long[n64];
        Arrays.setAll(i64, i -> i * 1_000_003L);
        Path file = dir.resolve("big.safetensors");
        new SafetensorsWriter()
                .add("small", DType.F32, new float[] {1f, 2f, 3f}, 3) // pushes the rest off 8-byte chunk alignment
                .add("f32", DType.F32, f32, n32)
                .add("f16", DType.F16, f16, n16)
                .addLongs("i64", i64, n64)
                .write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertTrue(f.info("f32").end() - f.info("f32").begin() > SafetensorsFile.CHUNK_BYTES);
            assertArrayEquals(f32, f.readFloats("f32"));
            assertArrayEquals(f16, f.readFloats("f16"));
            assertArrayEquals(i64, f.readLongs("i64"));
        }
    }

    /** A tensor stored beyond the first 2 GiB is mapped at its own offset; the file is sparse on disk. */
    @Test
    void readsTensorsBeyondTwoGibibytes() throws Exception {
        long far = 3L << 30;
        String json = "{\"near\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                + " \"far\": {\"dtype\": \"I64\", \"shape\": [2], \"data_offsets\": [" + far + ", " + (far + 16) + "]}}";
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        Path file = RawFiles.write(dir.resolve("sparse.safetensors"), header.length, header, far + 16);
        long farStart = 8 + header.length + far;
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(42).putLong(-7).flip(),
                    farStart);
        }
        assertTrue(Files.size(file) > far);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertArrayEquals(new long[] {42, -7}, f.readLongs("far"));
            assertArrayEquals(new float[] {0f, 0f}, f.readFloats("near"));
        }
    }

    @Test
    void tensorInfoComparesShapesByValue() {
        TensorInfo a = new TensorInfo("w", DType.F32, new long[] {104, 64}, 0, 104 * 64 * 4);
        TensorInfo b = new TensorInfo("w", DType.F32, new long[] {104, 64}, 0, 104 * 64 * 4);
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertEquals(104 * 64, a.numel());
        assertEquals("[104, 64]", a.shapeString());
        assertTrue(a.toString().contains("[104, 64]"), a.toString());
        a.shape()[0] = 1; // the returned array is a copy
        assertEquals("[104, 64]", a.shapeString());
    }

    @Test
    void readsTheSharedReferenceCheckpoint() throws Exception {
        Path ref = Stream.of("../shared/testdata/mamba-reference", "../../shared/testdata/mamba-reference")
                .map(Path::of).filter(Files::isDirectory).findFirst().orElse(null);
        Assumptions.assumeTrue(ref != null, "shared/testdata/mamba-reference is not present");
        try (TensorSource model = SafetensorsFile.open(ref.resolve("mamba1-tiny/model.safetensors"));
             TensorSource expected = SafetensorsFile.open(ref.resolve("mamba1-tiny/expected.safetensors"))) {
            TensorInfo embedding = model.info("backbone.embedding.weight");
            assertEquals(DType.F32, embedding.dtype());
            assertEquals("[104, 64]", embedding.shapeString());
            float[] weights = model.readFloats("backbone.embedding.weight");
            assertEquals(104 * 64, weights.length);
            assertTrue(Float.isFinite(weights[0]) && Float.isFinite(weights[weights.length - 1]));

            TensorInfo ids = expected.info("input_ids");
            assertEquals(DType.I64, ids.dtype());
            assertEquals("[4, 48]", ids.shapeString());
            long[] tokens = expected.readLongs("input_ids");
            assertEquals(4 * 48, tokens.length);
            assertTrue(Arrays.stream(tokens).allMatch(t -> t >= 0 && t < 104), "token ids lie in the vocabulary");
        }
        try (TensorSource checkpoint = Safetensors.openCheckpoint(ref.resolve("mamba1-tiny"))) {
            assertTrue(checkpoint.names().containsAll(Set.of("backbone.embedding.weight")));
        }
    }
}
