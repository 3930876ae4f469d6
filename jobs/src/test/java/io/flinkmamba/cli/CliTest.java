package io.flinkmamba.cli;

import io.flinkmamba.engine.ReferenceCheck;
import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.model.RandomModels;
import io.flinkmamba.safetensors.DType;
import io.flinkmamba.safetensors.SafetensorsFile;
import io.flinkmamba.safetensors.SafetensorsWriter;
import io.flinkmamba.safetensors.TensorSource;
import io.flinkmamba.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CliTest {

    @Test
    void checkReferencePassesOnTheOfficialVectors() {
        for (String name : new String[] {"mamba1-tiny", "mamba1-layernorm", "mamba2-tiny"}) {
            Path dir = SharedData.require("testdata/mamba-reference/" + name);
            CliRun run = CliRun.of("check-reference", dir.toString());
            assertEquals(0, run.exit(), run.out() + run.err());
            assertTrue(run.lastLine().matches("max_rel_err \\S+"), run.lastLine());
            assertTrue(run.out().contains("logits_step") && run.out().contains("layers.1.ssm_state"), run.out());
        }
    }

    @Test
    void checkReferenceFailsWithExitOneOnWrongOutputs(@TempDir Path dir) throws Exception {
        ReferenceCheck.writeSelfCheck(RandomModels.create(RandomModels.config(LayerType.MAMBA1, 16, 1, 8, 4), 1, 0.1f),
                dir, 2, 5, 3);
        Path expected = dir.resolve("expected.safetensors");
        SafetensorsWriter tampered = new SafetensorsWriter();
        try (TensorSource source = SafetensorsFile.open(expected)) {
            for (String name : source.names()) {
                long[] shape = source.info(name).shape();
                if (name.equals("input_ids")) {
                    tampered.addLongs(name, source.readLongs(name), shape);
                } else {
                    float[] values = source.readFloats(name);
                    if (name.equals("logits_step")) {
                        values[3] += 1f;
                    }
                    tampered.add(name, DType.F32, values, shape);
                }
            }
        }
        tampered.write(expected);
        CliRun run = CliRun.of("check-reference", dir.toString());
        assertEquals(1, run.exit(), run.out());
        assertTrue(run.out().contains("FAIL"), run.out());
    }

    @Test
    void checkReferenceRejectsMissingOrMalformedFoldersWithExitTwo(@TempDir Path dir) throws Exception {
        CliRun missing = CliRun.of("check-reference", dir.resolve("absent").toString());
        assertEquals(2, missing.exit());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());

        Files.writeString(dir.resolve("config.json"), "{\"d_model\": 8, \"n_layer\": 1, \"vocab_size\": 8}");
        Files.writeString(dir.resolve("expected.safetensors"), "garbage");
        Files.writeString(dir.resolve("model.safetensors"), "garbage");
        CliRun malformed = CliRun.of("check-reference", dir.toString());
        assertEquals(2, malformed.exit());
        assertTrue(malformed.err().startsWith("check-reference: "), malformed.err());
        assertEquals(1, malformed.err().strip().lines().count(), malformed.err());
    }

    @Test
    void selfCheckPassesOnGeneratedModels() {
        CliRun run = CliRun.of("check-reference", "--self-check");
        assertEquals(0, run.exit(), run.out() + run.err());
        assertTrue(run.out().contains("MAMBA2"), run.out());
        assertEquals(2, CliRun.of("check-reference").exit());
    }

    @Test
    void everyCommandHasHelp() {
        for (String[] args : new String[][] {{"--help"}, {"demo", "--help"}, {"check-reference", "--help"}, {"run", "--help"},
                {"bench", "--help"}, {"bench", "engine", "--help"}}) {
            CliRun run = CliRun.of(args);
            assertEquals(0, run.exit(), String.join(" ", args));
            assertTrue(run.out().contains("Usage:"), run.out());
        }
    }
}
