package io.flinkmamba.engine;

import io.flinkmamba.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CPU engine against outputs of the official implementation (shared/testdata/mamba-reference). */
class ReferenceVectorsTest {

    @ParameterizedTest
    @ValueSource(strings = {"mamba1-tiny", "mamba1-layernorm", "mamba2-tiny"})
    void matchesOfficialImplementation(String name) throws Exception {
        Path dir = SharedData.require("testdata/mamba-reference/" + name);
        ReferenceCheck.Result result = ReferenceCheck.run(dir, CpuEngine::new);
        int layers = result.config().nLayer();
        // logits_step, logits_full, hidden_full and two states per layer: nothing skipped.
        assertEquals(3 + 2 * layers, result.comparisons().size(), result.comparisons().toString());
        assertTrue(result.passed(), () -> name + ": " + result.comparisons());
    }

    @Test
    void transformersNamingGivesIdenticalResults(@TempDir Path dir) throws Exception {
        Path official = SharedData.require("testdata/mamba-reference/mamba1-tiny");
        Path transformers = official.resolve("transformers");
        // The transformers folder holds the same weights; it borrows the official expected outputs.
        Files.copy(transformers.resolve("config.json"), dir.resolve("config.json"));
        Files.copy(transformers.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        Files.copy(official.resolve("expected.safetensors"), dir.resolve("expected.safetensors"));
        ReferenceCheck.Result hf = ReferenceCheck.run(dir, CpuEngine::new);
        ReferenceCheck.Result ssm = ReferenceCheck.run(official, CpuEngine::new);
        assertTrue(hf.passed(), hf.comparisons()::toString);
        assertEquals(ssm.comparisons(), hf.comparisons());
    }
}
