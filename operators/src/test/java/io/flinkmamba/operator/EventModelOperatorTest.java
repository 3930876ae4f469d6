package io.flinkmamba.operator;

import io.flinkmamba.engine.CpuEngine;
import io.flinkmamba.engine.StepBatch;
import io.flinkmamba.event.AnomalyLikelihood;
import io.flinkmamba.event.EventFields;
import io.flinkmamba.event.EventModel;
import io.flinkmamba.event.EventModels;
import io.flinkmamba.event.EventPrediction;
import io.flinkmamba.event.EventSchema;
import io.flinkmamba.train.EventTrainer;
import io.flinkmamba.train.TrainingOptions;
import io.flinkmamba.train.TrainingResult;
import io.flinkmamba.train.TrainingSequence;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** An event model in the operator (test harness, RocksDB): scores, predictions and likelihoods. */
class EventModelOperatorTest {
    private static final EventSchema SCHEMA = new EventSchema(List.of("value", "size"), "type", List.of("a", "b", "c"));
    private static final TypeInformation<Tuple3<String, Double, String>> EVENT_TYPE =
            Types.TUPLE(Types.STRING, Types.DOUBLE, Types.STRING);

    record Result(String key, float[] hidden, double score, EventPrediction prediction, double likelihood,
                  boolean sessionStart) implements Serializable {}

    @TempDir
    Path dir;
    EventModel model;
    Path modelDir;

    @BeforeEach
    void writeModel() throws Exception {
        modelDir = dir.resolve("events");
        model = EventModels.random(SCHEMA, new float[] {10f, 2f}, new float[] {3f, 0.5f}, 16, 2, 8, 7);
        model.write(modelDir);
    }

    /** value and a derived size; category by name (an unknown name is rejected by the operator). */
    private static void extract(Tuple3<String, Double, String> e, EventFields fields) {
        fields.numeric(0, e.f1);
        fields.numeric(1, Math.abs(e.f1) / 5);
        fields.category(fields.schema().categoryIndex(e.f2));
    }

    private MambaOperatorBuilder<Tuple3<String, Double, String>, Result> builder() {
        return MambaOperatorBuilder.<Tuple3<String, Double, String>, Result>forModel(modelDir)
                .eventExtractor(EventModelOperatorTest::extract)
                .outputMapper((e, out) -> new Result(e.f0, out.hidden(), out.score(), out.prediction(), out.likelihood(),
                        out.sessionStart()), TypeInformation.of(Result.class));
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, Tuple3<String, Double, String>, Result> harness(
            MambaOperatorBuilder<Tuple3<String, Double, String>, Result> builder) throws Exception {
        var harness = new KeyedOneInputStreamOperatorTestHarness<>(builder.<String>build(EVENT_TYPE), e -> e.f0,
                Types.STRING, 128, 1, 0);
        harness.setStateBackend(new EmbeddedRocksDBStateBackend());
        return harness;
    }

    /** Each event at its index as timestamp, then the end of input. */
    private static void feed(
            KeyedOneInputStreamOperatorTestHarness<String, Tuple3<String, Double, String>, Result> harness,
            List<Tuple3<String, Double, String>> events) throws Exception {
        for (int i = 0; i < events.size(); i++) {
            harness.processElement(events.get(i), i);
        }
        harness.endInput();
    }

    private static List<Tuple3<String, Double, String>> events(int keys, int count, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Tuple3<String, Double, String>> events = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int key = (int) Math.floor(keys * Math.pow(random.nextDouble(), 2));
            events.add(Tuple3.of("key-" + key, 10 + 3 * Math.sin(i / 7.0) + random.nextDouble(),
                    List.of("a", "b", "c").get(random.nextInt(3))));
        }
        return events;
    }

    /** Each key stepped alone through the CPU engine, scored, predicted and its likelihood tracked directly. */
    private List<Result> reference(List<Tuple3<String, Double, String>> events) {
        AnomalyLikelihood likelihood = AnomalyLikelihood.withDefaults();
        Map<String, float[]> states = new HashMap<>();
        Map<String, float[]> lastHidden = new HashMap<>();
        Map<String, double[]> likelihoodStates = new HashMap<>();
        List<Result> out = new ArrayList<>();
        int d = model.backbone().config().dModel();
        EventFields fields = new EventFields(SCHEMA);
        try (CpuEngine engine = new CpuEngine(model.backbone())) {
            StepBatch batch = engine.newBatch(1, StepBatch.Input.FEATURES, false);
            batch.size(1);
            for (Tuple3<String, Double, String> e : events) {
                float[] state = states.computeIfAbsent(e.f0, k -> new float[batch.floatsPerKey()]);
                fields.clear();
                extract(e, fields);
                model.encode(fields, batch.features());
                System.arraycopy(state, 0, batch.states(), 0, state.length);
                engine.step(batch);
                System.arraycopy(batch.states(), 0, state, 0, state.length);
                float[] previous = lastHidden.get(e.f0);
                double score = previous == null ? Double.NaN : model.score(previous, fields);
                double l = likelihood.update(likelihoodStates.computeIfAbsent(e.f0,
                        k -> new double[likelihood.stateSize()]), score, Double.NaN);
                float[] hidden = Arrays.copyOf(batch.hidden(), d);
                lastHidden.put(e.f0, hidden);
                out.add(new Result(e.f0, hidden, score, model.predict(hidden), l, previous == null));
            }
        }
        return out;
    }

    private static Map<String, List<Result>> byKey(List<Result> results) {
        Map<String, List<Result>> out = new HashMap<>();
        for (Result r : results) {
            out.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(r);
        }
        return out;
    }

    private static void assertSameResults(List<Result> expected, List<Result> actual) {
        Map<String, List<Result>> want = byKey(expected);
        Map<String, List<Result>> got = byKey(actual);
        assertEquals(want.keySet(), got.keySet());
        for (String key : want.keySet()) {
            assertEquals(want.get(key).size(), got.get(key).size(), key);
            for (int i = 0; i < want.get(key).size(); i++) {
                Result w = want.get(key).get(i);
                Result g = got.get(key).get(i);
                String where = key + " event " + i;
                assertArrayEquals(w.hidden(), g.hidden(), where);
                assertEquals(w.score(), g.score(), 0.0, where);
                assertEquals(w.prediction(), g.prediction(), where);
                assertEquals(w.likelihood(), g.likelihood(), 0.0, where);
                assertEquals(w.sessionStart(), g.sessionStart(), where);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 37})
    void outputsEqualSteppingTheEngineAndEventModelDirectly(int bundleSize) throws Exception {
        List<Tuple3<String, Double, String>> events = events(6, 400, 1);
        try (var harness = harness(builder().bundleSize(bundleSize).cacheSize(2))) {
            harness.open();
            feed(harness, events);
            List<Result> results = harness.extractOutputValues();
            assertSameResults(reference(events), results);
            assertTrue(Double.isNaN(results.get(0).score()) && Double.isNaN(results.get(0).likelihood()));
            assertTrue(results.stream().filter(r -> !r.sessionStart()).allMatch(r -> r.score() > 0 || r.score() <= 0),
                    "every later event has a score");
        }
    }

    @Test
    void likelihoodStateSurvivesSnapshotAndRestore() throws Exception {
        // Two keys, 450 events each: past the 300-score probation on both sides of the snapshot.
        List<Tuple3<String, Double, String>> events = events(2, 900, 2);
        List<Result> results = new ArrayList<>();
        OperatorSubtaskState snapshot;
        try (var first = harness(builder().bundleSize(16).cacheSize(1))) {
            first.open();
            for (int i = 0; i < 500; i++) {
                first.processElement(events.get(i), i);
            }
            first.prepareSnapshotPreBarrier(1);
            snapshot = first.snapshot(1, 500);
            results.addAll(first.extractOutputValues());
        }
        try (var second = harness(builder().bundleSize(16).cacheSize(1))) {
            second.initializeState(snapshot);
            second.open();
            for (int i = 500; i < events.size(); i++) {
                second.processElement(events.get(i), i);
            }
            second.endInput();
            results.addAll(second.extractOutputValues());
        }
        List<Result> expected = reference(events);
        assertSameResults(expected, results);
        assertTrue(expected.subList(500, 900).stream().anyMatch(r -> r.likelihood() != 0.5),
                "calibrated likelihoods after the restore");
    }

    @Test
    void aRestoreWithBothInputsStartsAStoredScoreLikelihoodAfresh() throws Exception {
        List<Tuple3<String, Double, String>> events = events(1, 60, 5);
        OperatorSubtaskState snapshot;
        try (var first = harness(builder().bundleSize(8))) {
            first.open();
            for (int i = 0; i < 40; i++) {
                first.processElement(events.get(i), i);
            }
            first.prepareSnapshotPreBarrier(1);
            snapshot = first.snapshot(1, 40);
        }
        AnomalyLikelihood both = new AnomalyLikelihood(3, 50, 5, AnomalyLikelihood.Input.SCORE_AND_IMPROBABILITY);
        try (var second = harness(builder().anomalyLikelihood(both).bundleSize(8))) {
            second.initializeState(snapshot);
            second.open();
            for (int i = 40; i < events.size(); i++) {
                second.processElement(events.get(i), i);
            }
            second.endInput();
            List<Result> results = second.extractOutputValues();
            double[] fresh = new double[both.stateSize()];
            EventFields fields = new EventFields(SCHEMA);
            float[] previous = reference(events).get(39).hidden();
            for (int i = 0; i < results.size(); i++) {
                fields.clear();
                extract(events.get(40 + i), fields);
                EventModel.Assessment assessed = model.assess(previous, fields);
                double expected = both.update(fresh, assessed.score(), assessed.improbability());
                assertEquals(expected, results.get(i).likelihood(), 0.0, "event " + (40 + i));
                previous = results.get(i).hidden();
            }
            assertEquals(0.5, results.get(4).likelihood(), "a new probation after the restore");
            assertTrue(results.get(10).likelihood() != 0.5);
        }
    }

    /** A model the trainer wrote scores in the operator exactly what the trainer measured. */
    @Test
    void aTrainedModelScoresInTheOperatorWhatTheTrainerMeasured() throws Exception {
        SplittableRandom random = new SplittableRandom(4);
        List<TrainingSequence> sequences = new ArrayList<>();
        for (int k = 0; k < 16; k++) {
            int length = 30 + random.nextInt(20);
            double[][] numeric = new double[length][2];
            int[] type = new int[length];
            for (int t = 0; t < length; t++) {
                double value = 10 + 3 * Math.sin(t / 3.0 + k) + random.nextGaussian() * 0.3;
                numeric[t][0] = (float) value;
                numeric[t][1] = (float) (Math.abs((double) numeric[t][0]) / 5); // as the extractor derives it
                type[t] = (t + k) % 3;
            }
            sequences.add(new TrainingSequence("key-" + k, numeric, type));
        }
        TrainingResult result = EventTrainer.train(SCHEMA, sequences, TrainingOptions.defaults().withDModel(8)
                .withNLayer(1).withDState(4).withEpochs(2).withThreads(2), dir.resolve("trained"), null);
        modelDir = result.modelDir();
        model = EventModel.load(modelDir);
        double trainer = EventTrainer.meanScore(model, sequences);

        List<Tuple3<String, Double, String>> events = new ArrayList<>();
        for (int t = 0; t < 50; t++) { // keys interleaved, each in its own order
            for (TrainingSequence s : sequences) {
                if (t < s.length()) {
                    events.add(Tuple3.of(s.key(), (double) s.numeric()[t][0], SCHEMA.categories().get(s.category()[t])));
                }
            }
        }
        try (var harness = harness(builder().bundleSize(20))) {
            harness.open();
            feed(harness, events);
            double sum = 0;
            int n = 0;
            for (Result r : harness.extractOutputValues()) {
                if (!Double.isNaN(r.score())) {
                    sum += r.score();
                    n++;
                }
            }
            assertEquals(events.size() - sequences.size(), n);
            assertEquals(trainer, sum / n, 1e-9 * Math.abs(trainer));
        }
    }

    @Test
    void theLikelihoodWindowsAreConfigurable() throws Exception {
        AnomalyLikelihood custom = new AnomalyLikelihood(3, 50, 5);
        try (var harness = harness(builder().anomalyLikelihood(custom).bundleSize(7))) {
            harness.open();
            List<Tuple3<String, Double, String>> events = events(1, 40, 3);
            feed(harness, events);
            double[] state = new double[custom.stateSize()];
            List<Result> results = harness.extractOutputValues();
            for (Result r : results) {
                assertEquals(custom.update(state, r.score(), Double.NaN), r.likelihood(), 0.0);
            }
            assertTrue(results.get(10).likelihood() != 0.5, "past a probation of 5 scores");
        }
    }

    @Test
    void theLikelihoodCanAverageScoresAndImprobabilities() throws Exception {
        AnomalyLikelihood improbabilities = new AnomalyLikelihood(3, 50, 5,
                AnomalyLikelihood.Input.SCORE_AND_IMPROBABILITY);
        try (var harness = harness(builder().anomalyLikelihood(improbabilities).bundleSize(7))) {
            harness.open();
            List<Tuple3<String, Double, String>> events = events(1, 40, 3);
            feed(harness, events);
            double[] state = new double[improbabilities.stateSize()];
            List<Result> results = harness.extractOutputValues();
            EventFields fields = new EventFields(SCHEMA);
            for (int i = 0; i < results.size(); i++) {
                fields.clear();
                extract(events.get(i), fields);
                double improbability = i == 0 ? Double.NaN : model.improbability(results.get(i - 1).hidden(), fields);
                double score = i == 0 ? Double.NaN : model.score(results.get(i - 1).hidden(), fields);
                assertEquals(improbabilities.update(state, score, improbability), results.get(i).likelihood(), 0.0);
                assertEquals(score, results.get(i).score(), 0.0, "the score stays the negative log-likelihood");
            }
            assertTrue(results.get(10).likelihood() != 0.5, "past a probation of 5 scores");
        }
    }

    @Test
    void badFieldsAreRejectedWithTheirReason() throws Exception {
        try (var harness = harness(builder().bundleSize(4))) {
            harness.open();
            harness.processElement(Tuple3.of("k", Double.NaN, "a"), 1);
            harness.processElement(Tuple3.of("k", 1.0, "zzz"), 2);
            harness.processElement(Tuple3.of("k", 1.0, "b"), 3);
            harness.endInput();
            assertEquals(1, harness.extractOutputValues().size());
            List<String> reasons = new ArrayList<>();
            for (StreamRecord<Tuple2<Tuple3<String, Double, String>, String>> r
                    : harness.getSideOutput(MambaOperatorBuilder.rejectedTag(EVENT_TYPE))) {
                reasons.add(r.getValue().f1);
            }
            assertEquals(2, reasons.size());
            assertTrue(reasons.get(0).contains("'value' is NaN"), reasons.get(0));
            assertTrue(reasons.get(1).contains("'type'"), reasons.get(1));
        }
    }

    @Test
    void anEventModelNeedsAnExtractorAndAPlainModelAnEncoder() throws Exception {
        var wrong = MambaOperatorBuilder.<Tuple3<String, Double, String>, Result>forModel(modelDir)
                .inputEncoder((e, input) -> input.features()[0] = 1f)
                .outputMapper((e, out) -> null, TypeInformation.of(Result.class));
        try (var harness = harness(wrong)) {
            Exception e = assertThrows(Exception.class, harness::open);
            assertTrue(String.valueOf(e.getMessage()).contains("eventExtractor")
                    || String.valueOf(e.getCause()).contains("eventExtractor"), String.valueOf(e));
        }
        assertThrows(IllegalArgumentException.class, () -> builder().inputEncoder((e, input) -> { }).build(EVENT_TYPE));
        assertFalse(EventModel.isEventModel(dir));
    }
}
