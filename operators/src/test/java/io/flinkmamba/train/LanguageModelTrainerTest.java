package io.flinkmamba.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkmamba.model.MambaModel;
import io.flinkmamba.model.ModelLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Token language models in the official mamba_ssm form, trained by the event trainer's code. */
class LanguageModelTrainerTest {
    private static final TrainingOptions OPTIONS = TrainingOptions.defaults().withDModel(16).withNLayer(1)
            .withDState(4).withEpochs(6).withBptt(50).withLearningRate(1e-2).withThreads(2).withValidationShare(0.2)
            .withPatience(2);

    @TempDir
    Path dir;

    @Test
    void heldOutNllOfAMarkovChainIsWithinFivePercentOfItsEntropyRate() throws Exception {
        TrainingResult result = EventTrainer.trainLanguageModel(4, EventTrainerTest.markov("train-", 120, 100, 1),
                OPTIONS.withEpochs(12).withPatience(3), dir.resolve("lm"), null);
        try (var files = Files.list(result.modelDir())) {
            assertEquals(List.of("config.json", "model.safetensors"),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        JsonNode config = new ObjectMapper().readTree(result.modelDir().resolve("config.json").toFile());
        assertEquals(8, config.get("vocab_size").asInt(), "4 tokens padded to a multiple of 8");
        assertTrue(config.get("tie_embeddings").asBoolean());
        MambaModel model = ModelLoader.load(result.modelDir());
        assertEquals(8, model.config().vocabSize());
        assertTrue(model.lmHead() != null && java.util.Arrays.equals(model.lmHead(), model.embedding()));
        double heldOut = EventTrainer.meanScore(model, EventTrainerTest.markov("test-", 100, 100, 2));
        double h = EventTrainerTest.entropyRate();
        System.out.printf("token LM markov: entropy rate %.4f nats, held-out NLL %.4f (%.2f%% above), %d epochs,"
                + " validation %.4f, %.0f events/s%n", h, heldOut, 100 * (heldOut / h - 1), result.epochs(),
                result.validationLoss(), result.eventsPerSecond());
        assertTrue(Math.abs(heldOut / h - 1) < 0.05, "held-out NLL " + heldOut + " vs entropy rate " + h);
    }

    @Test
    void aSeedGivesTheSameWeightsForAnyThreadCount() throws Exception {
        List<TrainingSequence> data = EventTrainerTest.markov("k", 24, 40, 3);
        TrainingOptions options = OPTIONS.withEpochs(2).withBptt(16).withBatchSize(4);
        Path one = EventTrainer.trainLanguageModel(4, data, options.withThreads(1), dir.resolve("one"), null).modelDir();
        Path three = EventTrainer.trainLanguageModel(4, data, options.withThreads(3), dir.resolve("three"), null)
                .modelDir();
        Path otherSeed = EventTrainer.trainLanguageModel(4, data, options.withSeed(7), dir.resolve("seed"), null)
                .modelDir();
        byte[] weights = Files.readAllBytes(one.resolve("model.safetensors"));
        assertArrayEquals(weights, Files.readAllBytes(three.resolve("model.safetensors")));
        assertTrue(!java.util.Arrays.equals(weights, Files.readAllBytes(otherSeed.resolve("model.safetensors"))));
    }

    @Test
    void tokensOutsideTheVocabularyAreRejected() {
        List<TrainingSequence> data = List.of(TrainingSequence.tokens("a", new int[] {0, 1, 4}));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EventTrainer.trainLanguageModel(4, data, OPTIONS, dir.resolve("bad"), null));
        assertTrue(e.getMessage().contains("token 4"), e.getMessage());
    }
}
