package io.flinkmamba.event;

import io.flinkmamba.train.DefaultModelTraining;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DefaultEventModelTest {
    /**
     * SHA-256 of the shipped model.safetensors, written by {@code train-default} with the shipped recipe
     * ({@link DefaultModelTraining#recipe(long)} of {@link DefaultModelTraining#SHIPPED_SEED}); regenerating it
     * takes minutes, so the test checks the record and the recipe's determinism at a tiny size.
     */
    static final String SHIPPED_SHA256 = "1d7ca8b15785fc4b3dbe3569871a5c79e00628649ea5c3d4b09acbb899397b53";

    @TempDir
    Path dir;

    @Test
    void materializesTheShippedModelOnceForAllThreads() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        Set<Path> folders = ConcurrentHashMap.newKeySet();
        try {
            List<Future<Path>> calls = pool.invokeAll(List.of(DefaultEventModel::materialize,
                    DefaultEventModel::materialize, DefaultEventModel::materialize, DefaultEventModel::materialize));
            for (Future<Path> call : calls) {
                folders.add(call.get());
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, folders.size(), folders.toString());
        Path folder = folders.iterator().next();
        assertEquals(folder, DefaultEventModel.materialize());
        assertEquals(folder, DefaultEventModel.resolve(DefaultEventModel.SETTING));
        for (String name : DefaultEventModel.FILES) {
            try (InputStream in = DefaultEventModel.class.getResourceAsStream(DefaultEventModel.RESOURCES + name)) {
                assertArrayEquals(in.readAllBytes(), Files.readAllBytes(folder.resolve(name)), name);
            }
        }
        EventModel model = DefaultEventModel.load();
        assertEquals(DefaultModelTraining.SCHEMA, model.schema());
        assertEquals(InputTransform.RUNNING_STANDARDIZED, model.inputTransform());
        assertEquals(16, model.backbone().config().dModel());
    }

    @Test
    void onlyTheBuiltinSettingNamesTheShippedModel() {
        assertTrue(DefaultEventModel.isDefault("builtin:default"));
        assertFalse(DefaultEventModel.isDefault("builtin:other"));
        assertFalse(DefaultEventModel.isDefault("/models/default"));
    }

    @Test
    void aFolderSettingResolvesToItself() throws Exception {
        assertEquals(Path.of("/models/m"), DefaultEventModel.resolve("/models/m"));
    }

    @Test
    void theShippedWeightsAreTheRecordedOnes() throws Exception {
        try (InputStream in = DefaultEventModel.class.getResourceAsStream(DefaultEventModel.RESOURCES
                + "model.safetensors")) {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(in.readAllBytes());
            assertEquals(SHIPPED_SHA256, HexFormat.of().formatHex(digest));
        }
    }

    @Test
    void theRecipeIsDeterministicForItsSeed() throws Exception {
        byte[] a = tiny(1, "a");
        byte[] b = tiny(1, "b");
        byte[] other = tiny(2, "c");
        assertArrayEquals(a, b);
        assertFalse(java.util.Arrays.equals(a, other), "another seed trains another model");
        assertEquals(InputTransform.RUNNING_STANDARDIZED, EventModel.load(dir.resolve("a")).inputTransform());
    }

    private byte[] tiny(long seed, String name) throws Exception {
        DefaultModelTraining.train(DefaultModelTraining.recipe(seed, 1, 200), dir.resolve(name), null);
        return Files.readAllBytes(dir.resolve(name).resolve("model.safetensors"));
    }
}
