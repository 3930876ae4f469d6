package io.flinkmamba.model;

import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.safetensors.DType;
import io.flinkmamba.safetensors.SafetensorsFile;
import io.flinkmamba.safetensors.SafetensorsWriter;
import io.flinkmamba.safetensors.TensorSource;
import io.flinkmamba.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelLoaderTest {

    private static final MambaConfig CONFIG = new MambaConfig(LayerType.MAMBA1, 20, 2, 16, 4, 3, 2, 2, 0, 0,
            false, false, false, false, 1e-5f, true, true, true);

    @Test
    void roundTripInFloat32IsExact(@TempDir Path dir) throws Exception {
        MambaModel model = RandomModels.create(CONFIG, 3, 0.1f);
        ModelWriter.write(model, dir, DType.F32);
        MambaModel loaded = ModelLoader.load(dir);
        assertEquals(CONFIG, loaded.config());
        assertArrayEquals(model.embedding(), loaded.embedding());
        assertSame(loaded.embedding(), loaded.lmHead(), "LM head tied when lm_head.weight is absent");
        for (int l = 0; l < CONFIG.nLayer(); l++) {
            assertArrayEquals(model.layers().get(l).inProj(), loaded.layers().get(l).inProj());
            assertArrayEquals(model.layers().get(l).aLog(), loaded.layers().get(l).aLog());
            assertArrayEquals(model.layers().get(l).normBias(), loaded.layers().get(l).normBias());
        }
        assertArrayEquals(model.normFBias(), loaded.normFBias());
    }

    @Test
    void halfPrecisionCheckpointsLoadAsFloat32(@TempDir Path dir) throws Exception {
        MambaModel model = RandomModels.create(CONFIG, 3, 0.1f);
        for (DType dtype : new DType[] {DType.F16, DType.BF16}) {
            Path sub = dir.resolve(dtype.name());
            ModelWriter.write(model, sub, dtype);
            float[] loaded = ModelLoader.load(sub).layers().get(1).outProj();
            float[] original = model.layers().get(1).outProj();
            double tolerance = dtype == DType.F16 ? 1e-3 : 8e-3;
            for (int i = 0; i < original.length; i++) {
                assertEquals(original[i], loaded[i], tolerance * Math.abs(original[i]) + 1e-7);
            }
        }
    }

    @Test
    void shardedCheckpointLoads(@TempDir Path dir) throws Exception {
        MambaModel model = RandomModels.create(CONFIG, 4, 0.1f);
        Path single = dir.resolve("single");
        ModelWriter.write(model, single, DType.F32);
        Path sharded = Files.createDirectories(dir.resolve("sharded"));
        Files.copy(single.resolve("config.json"), sharded.resolve("config.json"));
        StringBuilder map = new StringBuilder();
        try (TensorSource source = SafetensorsFile.open(single.resolve("model.safetensors"))) {
            List<String> names = new ArrayList<>(source.names());
            SafetensorsWriter[] shards = {new SafetensorsWriter(), new SafetensorsWriter()};
            for (int i = 0; i < names.size(); i++) {
                String name = names.get(i);
                long[] shape = source.info(name).shape();
                shards[i % 2].add(name, DType.F32, source.readFloats(name), shape);
                map.append(map.length() == 0 ? "" : ",").append('"').append(name).append("\": \"model-0000")
                        .append(i % 2 + 1).append("-of-00002.safetensors\"");
            }
            shards[0].write(sharded.resolve("model-00001-of-00002.safetensors"));
            shards[1].write(sharded.resolve("model-00002-of-00002.safetensors"));
        }
        Files.writeString(sharded.resolve("model.safetensors.index.json"),
                "{\"metadata\": {}, \"weight_map\": {" + map + "}}");
        MambaModel loaded = ModelLoader.load(sharded);
        assertArrayEquals(model.layers().get(0).xProj(), loaded.layers().get(0).xProj());
        assertArrayEquals(model.embedding(), loaded.embedding());
    }

    @Test
    void missingUnexpectedAndMisshapenTensorsAreNamed(@TempDir Path dir) throws Exception {
        MambaModel model = RandomModels.create(CONFIG, 5, 0.1f);
        ModelWriter.write(model, dir.resolve("ok"), DType.F32);
        String config = Files.readString(dir.resolve("ok/config.json"));

        String missing = failure(dir.resolve("missing"), config, w -> copyExcept(dir, w,
                "backbone.layers.1.mixer.dt_proj.bias"));
        assertTrue(missing.contains("missing tensor backbone.layers.1.mixer.dt_proj.bias"), missing);

        String unexpected = failure(dir.resolve("unexpected"), config, w -> {
            copyExcept(dir, w, null);
            w.add("backbone.layers.2.mixer.D", DType.F32, new float[40], 40);
        });
        assertTrue(unexpected.contains("unexpected tensor") && unexpected.contains("backbone.layers.2.mixer.D"),
                unexpected);

        String shape = failure(dir.resolve("shape"), config, w -> {
            copyExcept(dir, w, "backbone.layers.0.mixer.A_log");
            w.add("backbone.layers.0.mixer.A_log", DType.F32, new float[40 * 5], 40, 5);
        });
        assertTrue(shape.contains("backbone.layers.0.mixer.A_log") && shape.contains("[40, 5]")
                && shape.contains("[40, 4]"), shape);
    }

    @Test
    void missingFolderOrConfigIsAClearError(@TempDir Path dir) {
        assertTrue(assertThrows(ModelFormatException.class, () -> ModelLoader.load(dir.resolve("nope")))
                .getMessage().contains("not a model folder"));
        assertTrue(assertThrows(ModelFormatException.class, () -> ModelLoader.load(dir))
                .getMessage().contains("config.json"));
    }

    @Test
    void sharedReferenceModelLoadsUnderBothNamings() throws Exception {
        Path official = SharedData.require("testdata/mamba-reference/mamba1-tiny");
        MambaModel a = ModelLoader.load(official);
        MambaModel b = ModelLoader.load(official.resolve("transformers"));
        assertEquals(a.config(), b.config());
        assertArrayEquals(a.embedding(), b.embedding());
        assertArrayEquals(a.layers().get(1).dtProj(), b.layers().get(1).dtProj());
    }

    private interface WriterBody {
        void fill(SafetensorsWriter writer) throws Exception;
    }

    private static void copyExcept(Path dir, SafetensorsWriter writer, String skip) throws Exception {
        try (TensorSource source = SafetensorsFile.open(dir.resolve("ok/model.safetensors"))) {
            for (String name : source.names()) {
                if (!name.equals(skip)) {
                    writer.add(name, DType.F32, source.readFloats(name), source.info(name).shape());
                }
            }
        }
    }

    private static String failure(Path dir, String config, WriterBody body) throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), config);
        SafetensorsWriter writer = new SafetensorsWriter();
        body.fill(writer);
        writer.write(dir.resolve("model.safetensors"));
        return assertThrows(ModelFormatException.class, () -> ModelLoader.load(dir)).getMessage();
    }
}
