package io.flinkmamba.train;

import io.flinkmamba.event.EventModel;
import io.flinkmamba.event.EventModels;
import io.flinkmamba.event.EventSchema;
import io.flinkmamba.event.InputTransform;
import io.flinkmamba.event.SeriesFeatures;
import io.flinkmamba.train.EventNetwork.Encoded;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EventTrainerTest {
    private static final EventSchema STATES = new EventSchema(List.of(), "state", List.of("a", "b", "c", "d"));
    private static final double[][] TRANSITIONS = {
            {0.70, 0.10, 0.10, 0.10},
            {0.10, 0.10, 0.70, 0.10},
            {0.25, 0.25, 0.25, 0.25},
            {0.05, 0.05, 0.10, 0.80}};

    @TempDir
    Path dir;

    /** Keys walking the Markov chain from a uniformly drawn first state. */
    static List<TrainingSequence> markov(String prefix, int keys, int length, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<TrainingSequence> out = new ArrayList<>();
        for (int k = 0; k < keys; k++) {
            int[] states = new int[length];
            states[0] = random.nextInt(4);
            for (int t = 1; t < length; t++) {
                double u = random.nextDouble();
                int next = 0;
                double cumulative = TRANSITIONS[states[t - 1]][0];
                while (u >= cumulative && next < 3) {
                    cumulative += TRANSITIONS[states[t - 1]][++next];
                }
                states[t] = next;
            }
            out.add(TrainingSequence.tokens(prefix + k, states));
        }
        return out;
    }

    /** The chain's entropy rate: sum over states of stationary probability times the row's entropy (nats). */
    static double entropyRate() {
        double[] pi = {0.25, 0.25, 0.25, 0.25};
        for (int it = 0; it < 10_000; it++) {
            double[] next = new double[4];
            for (int i = 0; i < 4; i++) {
                for (int j = 0; j < 4; j++) {
                    next[j] += pi[i] * TRANSITIONS[i][j];
                }
            }
            pi = next;
        }
        double h = 0;
        for (int i = 0; i < 4; i++) {
            for (double p : TRANSITIONS[i]) {
                h -= pi[i] * p * Math.log(p);
            }
        }
        return h;
    }

    @Test
    void heldOutNllOfAMarkovChainIsWithinFivePercentOfItsEntropyRate() throws Exception {
        TrainingOptions options = TrainingOptions.defaults().withDModel(16).withNLayer(1).withDState(4).withEpochs(6)
                .withBptt(50).withLearningRate(1e-2).withThreads(2).withValidationShare(0.2).withPatience(2);
        long started = System.nanoTime();
        TrainingResult result = EventTrainer.train(STATES, markov("train-", 120, 100, 1), options, dir.resolve("m"),
                null);
        double seconds = (System.nanoTime() - started) / 1e9;
        EventModel model = EventModel.load(result.modelDir());
        double heldOut = EventTrainer.meanScore(model, markov("test-", 100, 100, 2));
        double h = entropyRate();
        System.out.printf("markov: entropy rate %.4f nats, held-out NLL %.4f (%.2f%% above), %d epochs, %.1f s, "
                + "%.0f events/s%n", h, heldOut, 100 * (heldOut / h - 1), result.epochs(), seconds,
                result.eventsPerSecond());
        assertTrue(Math.abs(heldOut / h - 1) < 0.05, "held-out NLL " + heldOut + " vs entropy rate " + h);
    }

    @Test
    void aGaussianHeadBeatsAConstantMeanOnASineWithNoise() throws Exception {
        EventSchema schema = EventSchema.numeric("value");
        SplittableRandom random = new SplittableRandom(5);
        List<TrainingSequence> sequences = new ArrayList<>();
        List<TrainingSequence> test = new ArrayList<>();
        for (int k = 0; k < 40; k++) {
            double[][] values = new double[100][1];
            double phase = random.nextDouble() * 2 * Math.PI;
            for (int t = 0; t < values.length; t++) {
                values[t][0] = (float) (50 + 10 * Math.sin(phase + t * 2 * Math.PI / 24) + random.nextGaussian());
            }
            (k < 30 ? sequences : test).add(new TrainingSequence("k" + k, values, null));
        }
        TrainingOptions options = TrainingOptions.defaults().withDModel(16).withNLayer(1).withDState(8).withEpochs(8)
                .withBptt(50).withLearningRate(1e-2).withThreads(2);
        TrainingResult result = EventTrainer.train(schema, sequences, options, dir.resolve("sine"), null);
        double nll = EventTrainer.meanScore(EventModel.load(result.modelDir()), test);
        // Constant-mean baseline: the training mean and standard deviation of the values.
        double sum = 0;
        double sumSq = 0;
        int n = 0;
        for (TrainingSequence s : sequences) {
            for (double[] v : s.numeric()) {
                sum += v[0];
                sumSq += v[0] * v[0];
                n++;
            }
        }
        double mean = sum / n;
        double var = sumSq / n - mean * mean;
        double baseline = 0;
        int m = 0;
        for (TrainingSequence s : test) {
            for (int t = 1; t < s.length(); t++) {
                double r = s.numeric()[t][0] - mean;
                baseline += 0.5 * Math.log(2 * Math.PI * var) + 0.5 * r * r / var;
                m++;
            }
        }
        baseline /= m;
        double noiseFloor = 0.5 * Math.log(2 * Math.PI * Math.E); // N(0, 1) noise: the best possible
        System.out.printf("sine: held-out NLL %.3f, constant-mean baseline %.3f, noise floor %.3f%n", nll, baseline,
                noiseFloor);
        assertTrue(nll < baseline - 1.0, "NLL " + nll + " vs constant-mean " + baseline);
    }

    @Test
    void sameSeedGivesBitIdenticalWeightsWhateverTheThreads() throws Exception {
        EventSchema schema = new EventSchema(List.of("x"), "kind", List.of("p", "q"));
        SplittableRandom random = new SplittableRandom(9);
        List<TrainingSequence> sequences = new ArrayList<>();
        for (int k = 0; k < 12; k++) {
            int length = 20 + random.nextInt(30);
            double[][] x = new double[length][1];
            int[] kind = new int[length];
            for (int t = 0; t < length; t++) {
                x[t][0] = (float) (random.nextGaussian() * 3 + 7);
                kind[t] = random.nextInt(2);
            }
            sequences.add(new TrainingSequence("key" + k, x, kind));
        }
        TrainingOptions options = TrainingOptions.defaults().withDModel(8).withNLayer(2).withDState(4).withEpochs(3)
                .withBptt(16).withBatchSize(4).withPatience(5);
        byte[] one = train(schema, sequences, options.withThreads(1), "one");
        byte[] two = train(schema, sequences, options.withThreads(2), "two");
        byte[] twoAgain = train(schema, sequences, options.withThreads(3), "three");
        byte[] otherSeed = train(schema, sequences, options.withThreads(2).withSeed(7), "other");
        assertArrayEquals(one, two);
        assertArrayEquals(one, twoAgain);
        assertTrue(!java.util.Arrays.equals(one, otherSeed), "another seed trains another model");
    }

    @Test
    void theRunningStandardizationIsWhatPreStandardizedValuesTrain() throws Exception {
        EventSchema schema = EventSchema.numeric("x", "y");
        SplittableRandom random = new SplittableRandom(11);
        List<TrainingSequence> raw = new ArrayList<>();
        List<TrainingSequence> standardized = new ArrayList<>();
        for (int k = 0; k < 10; k++) {
            int length = 30 + random.nextInt(30);
            double scale = Math.pow(10, random.nextInt(5));
            double[][] values = new double[length][2];
            double[] x = new double[length];
            double[] y = new double[length];
            for (int t = 0; t < length; t++) {
                values[t][0] = x[t] = scale * (3 + Math.sin(t / 4.0) + 0.1 * random.nextGaussian());
                values[t][1] = y[t] = random.nextDouble() * 7 - k;
            }
            raw.add(new TrainingSequence("key" + k, values, null));
            float[] zx = SeriesFeatures.normalized(x);
            float[] zy = SeriesFeatures.normalized(y);
            double[][] z = new double[length][];
            for (int t = 0; t < length; t++) {
                z[t] = new double[] {zx[t], zy[t]};
            }
            standardized.add(new TrainingSequence("key" + k, z, null));
        }
        TrainingOptions options = TrainingOptions.defaults().withDModel(8).withNLayer(1).withDState(4).withEpochs(2)
                .withBptt(16).withBatchSize(4).withThreads(2);
        byte[] transformed = train(schema, raw, options.withInputTransform(InputTransform.RUNNING_STANDARDIZED), "t");
        byte[] given = train(schema, standardized, options, "given");
        assertArrayEquals(given, transformed);
        assertEquals(InputTransform.RUNNING_STANDARDIZED, EventModel.load(dir.resolve("t")).inputTransform());
        assertEquals(InputTransform.NONE, EventModel.load(dir.resolve("given")).inputTransform());
        assertTrue(!java.util.Arrays.equals(given, train(schema, raw, options, "raw")),
                "raw values train another model");
    }

    /** Sequences of a noisy sine of {@code period} around {@code level}. */
    private static List<TrainingSequence> sines(String prefix, int keys, double period, double level, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<TrainingSequence> out = new ArrayList<>();
        for (int k = 0; k < keys; k++) {
            double[][] values = new double[120][1];
            double phase = random.nextDouble() * 2 * Math.PI;
            for (int t = 0; t < values.length; t++) {
                values[t][0] = level + 10 * Math.sin(phase + t * 2 * Math.PI / period) + random.nextGaussian();
            }
            out.add(new TrainingSequence(prefix + k, values, null));
        }
        return out;
    }

    @Test
    void fineTuningForNoEpochsKeepsTheModelAndAShortOneLowersTheLossOnTheNewData() throws Exception {
        EventSchema schema = EventSchema.numeric("value");
        TrainingOptions options = TrainingOptions.defaults().withDModel(16).withNLayer(1).withDState(8).withEpochs(4)
                .withBptt(60).withLearningRate(1e-2).withThreads(2).withBatchSize(4);
        Path startDir = EventTrainer.train(schema, sines("a", 20, 24, 50, 1), options, dir.resolve("start"), null)
                .modelDir();
        EventModel start = EventModel.load(startDir);

        List<TrainingSequence> fresh = sines("b", 20, 7, 80, 2);
        TrainingResult kept = EventTrainer.fineTune(start, fresh, options.withEpochs(0), dir.resolve("kept"), null);
        assertEquals(0, kept.epochs());
        assertArrayEquals(Files.readAllBytes(startDir.resolve("model.safetensors")),
                Files.readAllBytes(kept.modelDir().resolve("model.safetensors")));
        assertEquals(start.fingerprint(), EventModel.load(kept.modelDir()).fingerprint());

        EventModel tuned = EventModel.load(EventTrainer.fineTune(start, fresh, options.withEpochs(2),
                dir.resolve("tuned"), null).modelDir());
        assertArrayEquals(start.numericMean(), tuned.numericMean());
        List<TrainingSequence> heldOut = sines("c", 6, 7, 80, 3);
        double before = EventTrainer.meanScore(start, heldOut);
        double after = EventTrainer.meanScore(tuned, heldOut);
        System.out.printf("fine-tune: held-out NLL %.4f before, %.4f after%n", before, after);
        assertTrue(after < before - 0.1, "before " + before + ", after " + after);

        IllegalArgumentException other = assertThrows(IllegalArgumentException.class, () -> EventTrainer.fineTune(
                start, fresh, options.withInputTransform(InputTransform.RUNNING_STANDARDIZED), dir.resolve("x"), null));
        assertEquals("the model to fine-tune takes input transform none, the training asks for running_standardized",
                other.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> EventTrainer.train(schema, fresh, options.withEpochs(0), dir.resolve("y"), null));
    }

    private byte[] train(EventSchema schema, List<TrainingSequence> sequences, TrainingOptions options, String name)
            throws Exception {
        TrainingResult result = EventTrainer.train(schema, sequences, options, dir.resolve(name), null);
        return Files.readAllBytes(result.modelDir().resolve("model.safetensors"));
    }

    /** The training forward and the engine path (what the operator runs) give the same loss. */
    @Test
    void trainingForwardScoresWhatTheEngineScores() {
        EventSchema schema = new EventSchema(List.of("x", "y"), "kind", List.of("p", "q", "r"));
        EventModel model = EventModels.random(schema, new float[] {1f, 2f}, new float[] {3f, 0.5f}, 16, 2, 8, 4);
        ParameterLayout layout = new ParameterLayout(schema, model.backbone().config());
        EventNetwork network = new EventNetwork(layout);
        SplittableRandom random = new SplittableRandom(2);
        int length = 50;
        double[][] values = new double[length][2];
        int[] kinds = new int[length];
        for (int t = 0; t < length; t++) {
            values[t][0] = (float) (1 + 3 * random.nextGaussian());
            values[t][1] = (float) (2 + random.nextGaussian());
            kinds[t] = random.nextInt(3);
        }
        TrainingSequence s = new TrainingSequence("k", values, kinds);
        float[] z = new float[length * 2];
        for (int t = 0; t < length; t++) {
            z[2 * t] = ((float) values[t][0] - 1f) / 3f;
            z[2 * t + 1] = ((float) values[t][1] - 2f) / 0.5f;
        }
        Encoded encoded = new Encoded("k", length, z, kinds);
        float[] w = layout.flatten(model);
        float[] state = new float[network.stateLayout().floatsPerKey()];
        EventNetwork.Workspace ws = network.workspace(16);
        double logStd = Math.log(3f) + Math.log(0.5f);
        double training = 0;
        for (int start = 0; start < length; start += 16) { // stretches, the state carried across them
            training += network.run(w, encoded, start, Math.min(16, length - start), state, null, logStd, ws);
        }
        training /= length - 1;
        double engine = EventTrainer.meanScore(model, List.of(s));
        System.out.printf("training forward %.9f, engine %.9f%n", training, engine);
        assertEquals(engine, training, 1e-5 * Math.abs(engine));
    }

    @Test
    void badInputGetsAClearError() {
        List<TrainingSequence> bad = List.of(TrainingSequence.tokens("k", new int[] {0, 1, 9}));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EventTrainer.train(STATES, bad, TrainingOptions.defaults(), dir, null));
        assertTrue(e.getMessage().contains("key k event 2"), e.getMessage());
    }
}
