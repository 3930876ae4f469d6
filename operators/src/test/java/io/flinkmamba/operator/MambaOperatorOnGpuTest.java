package io.flinkmamba.operator;

import io.flinkmamba.engine.ReferenceCheck;
import io.flinkmamba.engine.cuda.CudaEngine;
import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.operator.OperatorFixture.Result;
import io.flinkmamba.event.EventModel;
import io.flinkmamba.event.EventModels;
import io.flinkmamba.event.EventSchema;
import io.flinkmamba.testing.RequiresCudaDevice;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The operator on the CUDA engine in the test harness (heap state backend, so that the device run needs no
 * RocksDB library): results match stepping each key alone on the CPU within float32 tolerance, and a
 * snapshot and restore continue exactly as an uninterrupted run on the device. Skipped without a device.
 */
@RequiresCudaDevice
class MambaOperatorOnGpuTest {
    @TempDir
    Path dir;

    private static KeyedOneInputStreamOperatorTestHarness<String, Tuple2<String, Integer>, Result> harness(
            MambaOperatorBuilder<Tuple2<String, Integer>, Result> builder) throws Exception {
        return new KeyedOneInputStreamOperatorTestHarness<>(builder.<String>build(OperatorFixture.EVENT_TYPE),
                e -> e.f0, Types.STRING);
    }

    private List<Result> run(MambaOperatorBuilder<Tuple2<String, Integer>, Result> builder,
                             List<Tuple2<String, Integer>> events, int restartAt) throws Exception {
        return run(builder, events, restartAt, i -> i);
    }

    private List<Result> run(MambaOperatorBuilder<Tuple2<String, Integer>, Result> builder,
                             List<Tuple2<String, Integer>> events, int restartAt,
                             java.util.function.IntToLongFunction timestamp) throws Exception {
        List<Result> results = new ArrayList<>();
        OperatorSubtaskState snapshot = null;
        var first = harness(builder);
        first.open();
        for (int i = 0; i < restartAt; i++) {
            first.processElement(events.get(i), timestamp.applyAsLong(i));
        }
        first.prepareSnapshotPreBarrier(1);
        snapshot = first.snapshot(1, restartAt);
        results.addAll(first.extractOutputValues());
        first.close();
        var second = harness(builder);
        second.initializeState(snapshot);
        second.open();
        for (int i = restartAt; i < events.size(); i++) {
            second.processElement(events.get(i), timestamp.applyAsLong(i));
        }
        second.endInput();
        results.addAll(second.extractOutputValues());
        second.close();
        return results;
    }

    @Test
    void cudaOperatorMatchesTheCpuReferenceAndRestoresExactly() throws Exception {
        for (LayerType layer : LayerType.values()) {
            OperatorFixture f = new OperatorFixture(dir.resolve(layer.name()), layer);
            List<Tuple2<String, Integer>> events = OperatorFixture.events(30, 600, 4);
            MambaOperatorBuilder<Tuple2<String, Integer>, Result> builder =
                    f.builder().engine("cuda").bundleSize(64).cacheSize(8);
            List<Result> uninterrupted = run(builder, events, events.size());
            List<Result> restored = run(builder, events, 300);
            assertEquals(events.size(), restored.size());
            Map<String, List<Result>> a = OperatorFixture.byKey(uninterrupted);
            Map<String, List<Result>> b = OperatorFixture.byKey(restored);
            Map<String, List<float[]>> reference = f.reference(events);
            for (Map.Entry<String, List<float[]>> e : reference.entrySet()) {
                for (int i = 0; i < e.getValue().size(); i++) {
                    float[] gpu = a.get(e.getKey()).get(i).hidden();
                    double error = ReferenceCheck.relativeError(gpu, e.getValue().get(i));
                    assertTrue(error < 1e-4, layer + " " + e.getKey() + " event " + i + ": " + error);
                    assertArrayEquals(gpu, b.get(e.getKey()).get(i).hidden(),
                            layer + " restored run of " + e.getKey() + " event " + i);
                }
            }
        }
    }

    /**
     * States resident in the device pool (8 cached keys of 30, so keys are evicted and written back all the
     * time), session gaps that reset resident keys, and a checkpoint: the same results as the CPU engine with
     * its heap cache, and bit for bit those of the CUDA engine with states handed over per bundle.
     */
    @Test
    void residentStatesEvictResetAndRestoreLikeTheCpuEngine() throws Exception {
        OperatorFixture f = new OperatorFixture(dir, LayerType.MAMBA1);
        List<Tuple2<String, Integer>> events = OperatorFixture.events(30, 900, 6);
        // Every 150 events time jumps past the session gap: every key starts a new session.
        java.util.function.IntToLongFunction time = i -> i + (i / 150) * 10_000L;
        MambaOperatorBuilder<Tuple2<String, Integer>, Result> base =
                f.builder().bundleSize(64).sessionGap(java.time.Duration.ofMillis(5_000), true);
        List<Result> resident = run(base.engine("cuda").cacheSize(8), events, 420, time);
        List<Result> handedOver = run(base.engine("cuda").cacheSize(0), events, 420, time);
        List<Result> cpu = run(base.engine("cpu").cacheSize(8), events, 420, time);
        assertEquals(events.size(), resident.size());
        Map<String, List<Result>> onDevice = OperatorFixture.byKey(resident);
        Map<String, List<Result>> perBundle = OperatorFixture.byKey(handedOver);
        Map<String, List<Result>> reference = OperatorFixture.byKey(cpu);
        int sessionStarts = 0;
        for (Map.Entry<String, List<Result>> e : reference.entrySet()) {
            for (int i = 0; i < e.getValue().size(); i++) {
                Result want = e.getValue().get(i);
                Result got = onDevice.get(e.getKey()).get(i);
                assertEquals(want.sessionStart(), got.sessionStart(), e.getKey() + " event " + i);
                assertEquals(want.eventsSeen(), got.eventsSeen(), e.getKey() + " event " + i);
                double error = ReferenceCheck.relativeError(got.hidden(), want.hidden());
                assertTrue(error < 1e-4, e.getKey() + " event " + i + ": " + error);
                assertArrayEquals(perBundle.get(e.getKey()).get(i).hidden(), got.hidden(),
                        e.getKey() + " event " + i + " resident vs handed over");
                sessionStarts += got.sessionStart() ? 1 : 0;
            }
        }
        assertTrue(sessionStarts > 30 * 3, "session gaps reset keys: " + sessionStarts);
    }

    record Scored(String key, float[] hidden, double score, double likelihood) implements java.io.Serializable {}

    /** An event model (numeric feature and a category) on device-resident states scores as on the CPU. */
    @Test
    void eventModelOnResidentStatesScoresLikeTheCpuEngine() throws Exception {
        EventSchema schema = new EventSchema(List.of("value"), "type", List.of("a", "b", "c"));
        EventModel model = EventModels.random(schema, new float[] {10f}, new float[] {3f}, 32, 2, 16, 7);
        Path modelDir = dir.resolve("events");
        model.write(modelDir);
        java.util.SplittableRandom random = new java.util.SplittableRandom(9);
        List<Tuple3<String, Double, String>> events = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            events.add(Tuple3.of("key-" + random.nextInt(20), 10 + 3 * random.nextGaussian(),
                    List.of("a", "b", "c").get(random.nextInt(3))));
        }
        Map<String, List<Scored>> gpu = byKey(scoreEvents(modelDir, "cuda", events));
        Map<String, List<Scored>> cpu = byKey(scoreEvents(modelDir, "cpu", events));
        int scored = 0;
        for (Map.Entry<String, List<Scored>> e : cpu.entrySet()) {
            for (int i = 0; i < e.getValue().size(); i++) {
                Scored want = e.getValue().get(i);
                Scored got = gpu.get(e.getKey()).get(i);
                String what = e.getKey() + " event " + i;
                assertTrue(ReferenceCheck.relativeError(got.hidden(), want.hidden()) < 1e-4, what);
                assertEquals(Double.isNaN(want.score()), Double.isNaN(got.score()), what);
                if (!Double.isNaN(want.score())) {
                    assertEquals(want.score(), got.score(), 1e-3 * (1 + Math.abs(want.score())), what);
                    scored++;
                }
                assertEquals(Double.isNaN(want.likelihood()), Double.isNaN(got.likelihood()), what);
                if (!Double.isNaN(want.likelihood())) {
                    assertEquals(want.likelihood(), got.likelihood(), 1e-3, what);
                }
            }
        }
        assertTrue(scored > 500, "scored events: " + scored);
    }

    /** Runs the events through 8 resident keys with a snapshot and restore half way. */
    private static List<Scored> scoreEvents(Path modelDir, String engine, List<Tuple3<String, Double, String>> events)
            throws Exception {
        MambaOperatorBuilder<Tuple3<String, Double, String>, Scored> builder = MambaOperatorBuilder
                .<Tuple3<String, Double, String>, Scored>forModel(modelDir)
                .eventExtractor((e, fields) -> {
                    fields.numeric(0, e.f1);
                    fields.category(fields.schema().categoryIndex(e.f2));
                })
                .outputMapper((e, out) -> new Scored(e.f0, out.hidden(), out.score(), out.likelihood()),
                        TypeInformation.of(Scored.class))
                .bundleSize(64).cacheSize(8).engine(engine);
        List<Scored> results = new ArrayList<>();
        OperatorSubtaskState snapshot = null;
        for (int part = 0; part < 2; part++) {
            var harness = new KeyedOneInputStreamOperatorTestHarness<>(
                    builder.<String>build(Types.TUPLE(Types.STRING, Types.DOUBLE, Types.STRING)),
                    (Tuple3<String, Double, String> e) -> e.f0, Types.STRING);
            if (snapshot != null) {
                harness.initializeState(snapshot);
            }
            harness.open();
            int half = events.size() / 2;
            for (int i = part * half; i < (part + 1) * half; i++) {
                harness.processElement(events.get(i), i);
            }
            harness.prepareSnapshotPreBarrier(part + 1);
            snapshot = harness.snapshot(part + 1, part + 1);
            results.addAll(harness.extractOutputValues());
            harness.close();
        }
        return results;
    }

    private static Map<String, List<Scored>> byKey(List<Scored> results) {
        Map<String, List<Scored>> out = new java.util.LinkedHashMap<>();
        for (Scored r : results) {
            out.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(r);
        }
        return out;
    }
}
