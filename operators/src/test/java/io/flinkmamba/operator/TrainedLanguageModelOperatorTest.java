package io.flinkmamba.operator;

import io.flinkmamba.model.ModelLoader;
import io.flinkmamba.train.EventTrainer;
import io.flinkmamba.train.TrainingOptions;
import io.flinkmamba.train.TrainingResult;
import io.flinkmamba.train.TrainingSequence;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A token language model the trainer wrote runs as a plain model: its scores are the trainer's loss. */
class TrainedLanguageModelOperatorTest {
    @TempDir
    Path dir;

    @Test
    void theOperatorsScoreIsTheTrainersMeasuredLoss() throws Exception {
        SplittableRandom random = new SplittableRandom(8);
        List<TrainingSequence> sequences = new ArrayList<>();
        for (int k = 0; k < 12; k++) {
            int[] tokens = new int[25 + random.nextInt(20)];
            for (int t = 1; t < tokens.length; t++) {
                tokens[t] = random.nextDouble() < 0.7 ? (tokens[t - 1] + 1) % 11 : random.nextInt(11);
            }
            sequences.add(TrainingSequence.tokens("key-" + k, tokens));
        }
        TrainingResult result = EventTrainer.trainLanguageModel(11, sequences, TrainingOptions.defaults().withDModel(8)
                .withNLayer(2).withDState(4).withEpochs(2).withThreads(2), dir.resolve("lm"), null);
        double trainer = EventTrainer.meanScore(ModelLoader.load(result.modelDir()), sequences);

        List<Tuple2<String, Integer>> events = new ArrayList<>();
        for (int t = 0; t < 45; t++) { // keys interleaved, each in its own order
            for (TrainingSequence s : sequences) {
                if (t < s.length()) {
                    events.add(Tuple2.of(s.key(), s.category()[t]));
                }
            }
        }
        MambaOperatorBuilder<Tuple2<String, Integer>, Double> builder =
                MambaOperatorBuilder.<Tuple2<String, Integer>, Double>forModel(result.modelDir())
                        .inputEncoder((e, input) -> input.token(e.f1))
                        .outputMapper((e, out) -> out.score(), Types.DOUBLE)
                        .bundleSize(16);
        try (var harness = new KeyedOneInputStreamOperatorTestHarness<>(
                builder.<String>build(TypeInformation.of(new org.apache.flink.api.common.typeinfo.TypeHint<
                        Tuple2<String, Integer>>() { })), e -> e.f0, Types.STRING, 128, 1, 0)) {
            harness.setStateBackend(new EmbeddedRocksDBStateBackend());
            harness.open();
            for (int i = 0; i < events.size(); i++) {
                harness.processElement(events.get(i), i);
            }
            harness.endInput();
            double sum = 0;
            int n = 0;
            for (double score : harness.extractOutputValues()) {
                if (!Double.isNaN(score)) {
                    sum += score;
                    n++;
                }
            }
            assertEquals(events.size() - sequences.size(), n, "every event but each key's first is scored");
            double operator = sum / n;
            System.out.printf("token LM: trainer %.9f, operator %.9f, validation %.6f%n", trainer, operator,
                    result.validationLoss());
            assertEquals(trainer, operator, 1e-6 * trainer);
        }
    }
}
