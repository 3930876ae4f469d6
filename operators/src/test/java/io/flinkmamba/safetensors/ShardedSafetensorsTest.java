package io.flinkmamba.safetensors;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static io.flinkmamba.safetensors.RawFiles.assertMentions;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Sharded checkpoints and {@link Safetensors#openCheckpoint}. */
class ShardedSafetensorsTest {
    private static final String SHARD1 = "model-00001-of-00002.safetensors";
    private static final String SHARD2 = "model-00002-of-00002.safetensors";

    @TempDir
    Path dir;

    @BeforeEach
    void writeShards() throws Exception {
        new SafetensorsWriter()
                .add("embedding.weight", DType.F32, new float[] {1f, 2f, 3f, 4f, 5f, 6f}, 3, 2)
                .add("layers.0.norm", DType.BF16, new float[] {0.5f, -1f}, 2)
                .write(dir.resolve(SHARD1));
        new SafetensorsWriter()
                .add("layers.1.norm", DType.F16, new float[] {2f, -0.25f}, 2)
                .addLongs("input_ids", new long[] {3, 1, 4}, 1, 3)
                .write(dir.resolve(SHARD2));
    }

    private Path index(String weightMap) throws Exception {
        return Files.writeString(dir.resolve(Safetensors.SHARD_INDEX),
                "{\"metadata\": {\"total_size\": 52, \"format\": \"pt\"}, \"weight_map\": " + weightMap + "}");
    }

    private Path goodIndex() throws Exception {
        return index("{\"layers.1.norm\": \"" + SHARD2 + "\", \"embedding.weight\": \"" + SHARD1 + "\","
                + " \"input_ids\": \"" + SHARD2 + "\", \"layers.0.norm\": \"" + SHARD1 + "\"}");
    }

    private String failure(Path index) {
        String message = assertThrows(SafetensorsException.class, () -> ShardedSafetensors.open(index).close())
                .getMessage();
        assertMentions(message, index.toString());
        return message;
    }

    @Test
    void readsTensorsFromBothShards() throws Exception {
        Path index = goodIndex();
        try (ShardedSafetensors source = ShardedSafetensors.open(index)) {
            assertEquals(List.of("embedding.weight", "input_ids", "layers.0.norm", "layers.1.norm"),
                    List.copyOf(source.names()));
            assertEquals(Map.of("total_size", "52", "format", "pt"), source.metadata());
            assertEquals(index, source.path());
            assertTrue(source.contains("input_ids"));
            assertEquals("[3, 2]", source.info("embedding.weight").shapeString());
            assertArrayEquals(new float[] {1f, 2f, 3f, 4f, 5f, 6f}, source.readFloats("embedding.weight"));
            assertArrayEquals(new float[] {0.5f, -1f}, source.readFloats("layers.0.norm"));
            assertArrayEquals(new float[] {2f, -0.25f}, source.readFloats("layers.1.norm"));
            assertArrayEquals(new long[] {3, 1, 4}, source.readLongs("input_ids"));
            assertMentions(assertThrows(SafetensorsException.class, () -> source.info("lm_head.weight")).getMessage(),
                    index.toString(), "lm_head.weight");
            // Errors from a shard name the shard file.
            assertMentions(assertThrows(SafetensorsException.class, () -> source.readLongs("layers.1.norm"))
                    .getMessage(), SHARD2, "layers.1.norm", "F16");
        }
    }

    @Test
    void tensorInAnotherShardThanTheIndexSays() throws Exception {
        Path index = index("{\"embedding.weight\": \"" + SHARD1 + "\", \"input_ids\": \"" + SHARD1 + "\"}");
        assertMentions(failure(index), "tensor input_ids", "not in shard " + SHARD1);
    }

    @Test
    void unknownShardFile() throws Exception {
        Path index = index("{\"embedding.weight\": \"model-00003-of-00002.safetensors\"}");
        assertMentions(failure(index), "tensor embedding.weight", "model-00003-of-00002.safetensors", "does not exist");
    }

    @Test
    void shardOutsideTheFolder() throws Exception {
        Path index = index("{\"embedding.weight\": \"../" + SHARD1 + "\"}");
        assertMentions(failure(index), "tensor embedding.weight", "not a file name beside the index");
    }

    @Test
    void shardNameNotAString() throws Exception {
        Path index = index("{\"embedding.weight\": 1}");
        assertMentions(failure(index), "tensor embedding.weight", "not a shard file name");
    }

    @Test
    void malformedShardIsNamed() throws Exception {
        Files.write(dir.resolve(SHARD2), new byte[] {0, 1});
        Path index = goodIndex();
        assertMentions(assertThrows(SafetensorsException.class, () -> ShardedSafetensors.open(index)).getMessage(),
                dir.resolve(SHARD2).toString(), "too short");
    }

    @Test
    void indexWithoutWeightMap() throws Exception {
        Path index = Files.writeString(dir.resolve(Safetensors.SHARD_INDEX), "{\"metadata\": {}}");
        assertMentions(failure(index), "no weight_map object");
    }

    @Test
    void indexNotJson() throws Exception {
        Path index = Files.writeString(dir.resolve(Safetensors.SHARD_INDEX), "{\"weight_map\": ");
        assertMentions(failure(index), "not valid JSON");
    }

    @Test
    void tensorListedTwice() throws Exception {
        Path index = index("{\"embedding.weight\": \"" + SHARD1 + "\", \"embedding.weight\": \"" + SHARD2 + "\"}");
        assertMentions(failure(index), "not valid JSON", "Duplicate", "embedding.weight");
    }

    @Test
    void indexMetadataNotAnObject() throws Exception {
        Path index = Files.writeString(dir.resolve(Safetensors.SHARD_INDEX),
                "{\"metadata\": 5, \"weight_map\": {\"embedding.weight\": \"" + SHARD1 + "\"}}");
        assertMentions(failure(index), "metadata must be an object");
    }

    @Test
    void checkpointUsesTheIndexWhenThereIsNoSingleFile() throws Exception {
        goodIndex();
        try (TensorSource source = Safetensors.openCheckpoint(dir)) {
            assertInstanceOf(ShardedSafetensors.class, source);
            assertEquals(4, source.names().size());
        }
    }

    @Test
    void checkpointPrefersTheSingleFile() throws Exception {
        goodIndex();
        new SafetensorsWriter().add("only", DType.F32, new float[] {9f}).write(dir.resolve(Safetensors.SINGLE_FILE));
        try (TensorSource source = Safetensors.openCheckpoint(dir)) {
            assertInstanceOf(SafetensorsFile.class, source);
            assertEquals(dir.resolve(Safetensors.SINGLE_FILE), source.path());
            assertArrayEquals(new float[] {9f}, source.readFloats("only"));
        }
    }

    @Test
    void checkpointWithNeitherFileNamesTheFolderAndBothFiles() throws Exception {
        Files.write(dir.resolve("pytorch_model.bin"), new byte[] {(byte) 0x80, 2});
        String message = assertThrows(SafetensorsException.class, () -> Safetensors.openCheckpoint(dir)).getMessage();
        assertMentions(message, dir.toString(), "model.safetensors ", "model.safetensors.index.json", "never loaded");
    }

    @Test
    void checkpointFolderMissing() {
        Path missing = dir.resolve("nope");
        assertMentions(assertThrows(SafetensorsException.class, () -> Safetensors.openCheckpoint(missing))
                .getMessage(), missing.toString(), "not a directory");
    }
}
