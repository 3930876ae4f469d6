package io.flinkmamba.operator;

import io.flinkmamba.engine.cuda.MatmulPrecision;
import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.operator.OperatorFixture.Result;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.flinkmamba.operator.OperatorFixture.MAX_PARALLELISM;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The operator in Flink's test harness, on the RocksDB state backend. */
class MambaOperatorHarnessTest {
    @TempDir
    Path dir;

    private static void assertSameHidden(Map<String, List<float[]>> expected, Map<String, List<Result>> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        for (Map.Entry<String, List<float[]>> e : expected.entrySet()) {
            List<Result> results = actual.get(e.getKey());
            assertEquals(e.getValue().size(), results.size(), "events of " + e.getKey());
            for (int i = 0; i < results.size(); i++) {
                assertArrayEquals(e.getValue().get(i), results.get(i).hidden(), e.getKey() + " event " + i);
                assertEquals(i + 1, results.get(i).eventsSeen());
            }
        }
    }

    /** Runs the events through an operator from {@code builder}; its results equal stepping each key alone. */
    private static void assertMatchesReference(OperatorFixture f,
            MambaOperatorBuilder<Tuple2<String, Integer>, Result> builder, List<Tuple2<String, Integer>> events)
            throws Exception {
        try (var harness = OperatorFixture.harness(builder, 1, 0)) {
            harness.open();
            long t = 0;
            for (Tuple2<String, Integer> e : events) {
                harness.processElement(e, t++);
            }
            harness.endInput();
            assertSameHidden(f.reference(events), OperatorFixture.byKey(harness.extractOutputValues()));
        }
    }

    @ParameterizedTest
    @EnumSource(LayerType.class)
    void outputsEqualSteppingEachKeyAlone(LayerType layer) throws Exception {
        OperatorFixture f = new OperatorFixture(dir, layer);
        List<Tuple2<String, Integer>> events = OperatorFixture.events(12, 400, 1);
        assertMatchesReference(f, f.builder().bundleSize(37).cacheSize(5), events);
    }

    /** Bundle size 1 scores from the stored prediction, 100 from the previous event in the same bundle. */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 100})
    void scoresAreTheNegativeLogLikelihoodOfTheNextToken(int bundleSize) throws Exception {
        OperatorFixture f = new OperatorFixture(dir, LayerType.MAMBA1);
        try (var harness = OperatorFixture.harness(f.builder().bundleSize(bundleSize), 1, 0)) {
            harness.open();
            harness.processElement(Tuple2.of("a", 3), 1);
            harness.processElement(Tuple2.of("a", 5), 2);
            harness.endInput();
            List<Result> out = harness.extractOutputValues();
            assertTrue(Double.isNaN(out.get(0).score()), "no prediction before the first event");
            assertTrue(out.get(0).sessionStart());
            assertFalse(out.get(1).sessionStart());
            // The second event's score from the first event's hidden state through the LM head.
            float[] h = out.get(0).hidden();
            float[] head = f.model.lmHead();
            int d = f.model.config().dModel();
            double[] logits = new double[f.model.config().vocabSize()];
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < logits.length; v++) {
                for (int i = 0; i < d; i++) {
                    logits[v] += (double) head[v * d + i] * h[i];
                }
                max = Math.max(max, logits[v]);
            }
            double sum = 0;
            for (double l : logits) {
                sum += Math.exp(l - max);
            }
            assertEquals(max + Math.log(sum) - logits[5], out.get(1).score(), 1e-4);
        }
    }

    @Test
    void snapshotAndRestoreContinueBitEqual() throws Exception {
        OperatorFixture f = new OperatorFixture(dir, LayerType.MAMBA1);
        List<Tuple2<String, Integer>> events = OperatorFixture.events(10, 300, 2);
        List<Result> results = new ArrayList<>();
        OperatorSubtaskState snapshot;
        try (var first = OperatorFixture.harness(f.builder().bundleSize(16).cacheSize(4), 1, 0)) {
            first.open();
            for (int i = 0; i < 150; i++) {
                first.processElement(events.get(i), i);
            }
            first.prepareSnapshotPreBarrier(1);
            snapshot = first.snapshot(1, 150);
            results.addAll(first.extractOutputValues());
        }
        assertEquals(150, results.size(), "a snapshot never holds buffered events");
        try (var second = OperatorFixture.harness(f.builder().bundleSize(16).cacheSize(4), 1, 0)) {
            second.initializeState(snapshot);
            second.open();
            for (int i = 150; i < events.size(); i++) {
                second.processElement(events.get(i), i);
            }
            second.endInput();
            results.addAll(second.extractOutputValues());
        }
        assertSameHidden(f.reference(events), OperatorFixture.byKey(results));
    }

    @ParameterizedTest
    @CsvSource({"2, 3", "3, 1"})
    void rescalingByKeyGroupsContinuesEveryKeyBitEqual(int from, int to) throws Exception {
        OperatorFixture f = new OperatorFixture(dir, LayerType.MAMBA1);
        List<Tuple2<String, Integer>> events = OperatorFixture.events(20, 400, 3);
        List<Result> results = new ArrayList<>();
        OperatorSubtaskState[] snapshots = new OperatorSubtaskState[from];
        for (int s = 0; s < from; s++) {
            try (var h = OperatorFixture.harness(f.builder().bundleSize(8), from, s)) {
                h.open();
                for (int i = 0; i < 200; i++) {
                    if (subtaskOf(events.get(i).f0, from) == s) {
                        h.processElement(events.get(i), i);
                    }
                }
                h.prepareSnapshotPreBarrier(1);
                snapshots[s] = h.snapshot(1, 200);
                results.addAll(h.extractOutputValues());
            }
        }
        OperatorSubtaskState merged = AbstractStreamOperatorTestHarness.repackageState(snapshots);
        for (int s = 0; s < to; s++) {
            try (var h = OperatorFixture.harness(f.builder().bundleSize(8), to, s)) {
                h.initializeState(AbstractStreamOperatorTestHarness.repartitionOperatorState(
                        merged, MAX_PARALLELISM, from, to, s));
                h.open();
                for (int i = 200; i < events.size(); i++) {
                    if (subtaskOf(events.get(i).f0, to) == s) {
                        h.processElement(events.get(i), i);
                    }
                }
                h.endInput();
                results.addAll(h.extractOutputValues());
            }
        }
        assertSameHidden(f.reference(events), OperatorFixture.byKey(results));
    }

    private static int subtaskOf(String key, int parallelism) {
        return KeyGroupRangeAssignment.assignKeyToParallelOperator(key, MAX_PARALLELISM, parallelism);
    }

    @Test
    void bundlesFlushOnWatermarksAndAfterTheMaximumDelay() throws Exception {
        OperatorFixture f = new OperatorFixture(dir, LayerType.MAMBA1);
        try (var harness = OperatorFixture.harness(
                f.builder().bundleSize(1000).maxBundleDelay(Duration.ofMillis(50)), 1, 0)) {
            harness.setProcessingTime(0);
            harness.open();
            harness.processElement(Tuple2.of("a", 1), 10);
            harness.processElement(Tuple2.of("b", 2), 11);
            assertEquals(0, harness.extractOutputValues().size(), "buffered");
            harness.processWatermark(11);
            List<Object> output = new ArrayList<>(harness.getOutput());
            assertEquals(3, output.size());
            assertTrue(output.get(2) instanceof org.apache.flink.streaming.api.watermark.Watermark,
                    "the watermark follows the results it covers");
            harness.processElement(Tuple2.of("a", 3), 12);
            harness.setProcessingTime(49);
            assertEquals(2, harness.extractOutputValues().size());
            harness.setProcessingTime(50);
            assertEquals(3, harness.extractOutputValues().size(), "flushed by the delay timer");
        }
    }

    /** Bundle size 1 resets between bundles, 100 inside one bundle (the key's later events on a fresh state). */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 100})
    void sessionGapStartsAFreshState(int bundleSize) throws Exception {
        OperatorFixture f = new OperatorFixture(dir, LayerType.MAMBA1);
        try (var harness = OperatorFixture.harness(
                f.builder().bundleSize(bundleSize).sessionGap(Duration.ofMillis(100), true), 1, 0)) {
            harness.open();
            harness.processElement(Tuple2.of("a", 1), 0);
            harness.processElement(Tuple2.of("a", 2), 50);
            harness.processElement(Tuple2.of("a", 1), 500);
            harness.endInput();
            List<Result> out = harness.extractOutputValues();
            assertTrue(out.get(0).sessionStart());
            assertFalse(out.get(1).sessionStart());
            assertTrue(out.get(2).sessionStart(), "idle for 450 ms > 100 ms gap");
            assertEquals(1, out.get(2).eventsSeen());
            assertArrayEquals(out.get(0).hidden(), out.get(2).hidden(), "same token from a zero state");
            assertTrue(Double.isNaN(out.get(2).score()));
        }
    }

    @Test
    void stateTtlExpiresIdleKeys() throws Exception {
        OperatorFixture f = new OperatorFixture(dir, LayerType.MAMBA1);
        for (int cacheSize : new int[] {0, 10}) {
            try (var harness = OperatorFixture.harness(
                    f.builder().bundleSize(1).cacheSize(cacheSize).stateTtl(Duration.ofSeconds(10)), 1, 0)) {
                harness.setProcessingTime(0);
                harness.setStateTtlProcessingTime(0);
                harness.open();
                harness.processElement(Tuple2.of("a", 1), 0);
                harness.setProcessingTime(5_000);
                harness.setStateTtlProcessingTime(5_000);
                harness.processElement(Tuple2.of("a", 2), 1);
                harness.setProcessingTime(60_000);
                harness.setStateTtlProcessingTime(60_000);
                harness.processElement(Tuple2.of("a", 3), 2);
                harness.endInput();
                List<Result> out = harness.extractOutputValues();
                assertEquals(2, out.get(1).eventsSeen(), "within the TTL (cache " + cacheSize + ")");
                assertEquals(1, out.get(2).eventsSeen(), "expired after 55 s idle (cache " + cacheSize + ")");
            }
        }
    }

    @Test
    void badInputGoesToTheRejectedOutputAndLeavesTheStateUntouched() throws Exception {
        OperatorFixture f = new OperatorFixture(dir, LayerType.MAMBA1);
        try (var harness = OperatorFixture.harness(f.builder().bundleSize(1), 1, 0)) {
            harness.open();
            harness.processElement(Tuple2.of("a", 1), 0);
            harness.processElement(Tuple2.of("a", -99), 1);  // the encoder throws
            harness.processElement(Tuple2.of("a", 16), 2);   // outside the vocabulary
            harness.processElement(Tuple2.of("a", 2), 3);
            harness.endInput();
            List<Result> out = harness.extractOutputValues();
            assertEquals(2, out.size());
            assertEquals(2, out.get(1).eventsSeen());
            assertArrayEquals(f.reference(List.of(Tuple2.of("a", 1), Tuple2.of("a", 2))).get("a").get(1),
                    out.get(1).hidden());
            List<StreamRecord<Tuple2<Tuple2<String, Integer>, String>>> rejected = new ArrayList<>(
                    harness.getSideOutput(MambaOperatorBuilder.rejectedTag(OperatorFixture.EVENT_TYPE)));
            assertEquals(2, rejected.size());
            assertTrue(rejected.get(0).getValue().f1.contains("poison event"), rejected.get(0).getValue().f1);
            assertTrue(rejected.get(1).getValue().f1.contains("outside the vocabulary"), rejected.get(1).getValue().f1);
            assertEquals(Tuple2.of("a", 16), rejected.get(1).getValue().f0);
        }
    }

    @Test
    void aCachedKeyIdleForFourBundlesIsWrittenBackAndStaysCached() throws Exception {
        OperatorFixture f = new OperatorFixture(dir, LayerType.MAMBA1);
        try (var h = OperatorFixture.harness(f.builder().bundleSize(1), 1, 0)) {
            h.open();
            h.processElement(Tuple2.of("a", 1), 0);
            for (int i = 0; i < 4; i++) {
                assertEquals(null, storedState(h, "a"), "written back after " + i + " idle bundles");
                h.processElement(Tuple2.of("b", 2), i + 1);
            }
            assertEquals(1, storedState(h, "a").eventsSeen(), "a's state in keyed state after four idle bundles");
            h.processElement(Tuple2.of("a", 3), 5);
            h.endInput();
            List<Result> out = h.extractOutputValues();
            assertEquals(2, out.get(out.size() - 1).eventsSeen(), "a continues from its cached state");
            assertSameHidden(f.reference(List.of(Tuple2.of("a", 1), Tuple2.of("b", 2), Tuple2.of("b", 2),
                    Tuple2.of("b", 2), Tuple2.of("b", 2), Tuple2.of("a", 3))), OperatorFixture.byKey(out));
        }
    }

    @Test
    void aStateFromAnotherModelIsResetOrFailsByPolicy() throws Exception {
        OperatorFixture f = new OperatorFixture(dir, LayerType.MAMBA1);
        OperatorSubtaskState snapshot;
        try (var h = OperatorFixture.harness(f.builder().bundleSize(1), 1, 0)) {
            h.open();
            h.processElement(Tuple2.of("a", 1), 0);
            h.prepareSnapshotPreBarrier(1);
            snapshot = h.snapshot(1, 0);
        }
        OperatorFixture other = new OperatorFixture(dir.resolve("other"), LayerType.MAMBA2);
        try (var h = OperatorFixture.harness(other.builder().bundleSize(1), 1, 0)) {
            h.initializeState(snapshot);
            h.open();
            h.processElement(Tuple2.of("a", 2), 1);
            h.endInput();
            assertEquals(1, h.extractOutputValues().get(0).eventsSeen(), "reset: the key starts afresh");
        }
        var failing = OperatorFixture.harness(other.builder().bundleSize(1).onModelMismatch(ModelMismatchPolicy.FAIL),
                1, 0);
        failing.initializeState(snapshot);
        failing.open();
        Exception e = assertThrows(Exception.class, () -> failing.processElement(Tuple2.of("a", 2), 1));
        assertTrue(org.apache.flink.util.ExceptionUtils.findThrowable(e,
                org.apache.flink.runtime.execution.SuppressRestartsException.class).isPresent(), "no restarts: " + e);
        assertTrue(org.apache.flink.util.ExceptionUtils.findThrowableWithMessage(e, "written by model").isPresent(),
                e.toString());
        assertThrows(Exception.class, failing::close, "a failed operator does not finish cleanly");
    }

    @Test
    void eventTimeOrderingStepsByTimestampAndSendsLateEventsAside() throws Exception {
        OperatorFixture f = new OperatorFixture(dir, LayerType.MAMBA1);
        try (var harness = OperatorFixture.harness(f.builder().bundleSize(100).eventTimeOrdering(true), 1, 0)) {
            harness.open();
            harness.processElement(Tuple2.of("a", 3), 30);
            harness.processElement(Tuple2.of("a", 1), 10);
            harness.processElement(Tuple2.of("b", 7), 15);
            harness.processElement(Tuple2.of("a", 2), 20);
            harness.processWatermark(20);
            List<Result> released = harness.extractOutputValues();
            assertEquals(java.util.Set.of(1, 7, 2), released.stream().map(Result::token)
                    .collect(java.util.stream.Collectors.toSet()), "exactly the events up to the watermark");
            assertEquals(3, released.size());
            harness.processElement(Tuple2.of("a", 9), 19); // behind the watermark: late
            harness.processWatermark(40);
            harness.endInput();
            List<Result> out = harness.extractOutputValues();
            List<Integer> tokensOfA = out.stream().filter(r -> r.key().equals("a")).map(Result::token).toList();
            assertEquals(List.of(1, 2, 3), tokensOfA, "key a stepped in timestamp order");
            Map<String, List<Result>> byKey = OperatorFixture.byKey(out);
            assertSameHidden(f.reference(List.of(Tuple2.of("a", 1), Tuple2.of("a", 2), Tuple2.of("a", 3),
                    Tuple2.of("b", 7))), byKey);
            List<StreamRecord<Tuple2<String, Integer>>> late = new ArrayList<>(
                    harness.getSideOutput(MambaOperatorBuilder.lateTag(OperatorFixture.EVENT_TYPE)));
            assertEquals(1, late.size());
            assertEquals(Tuple2.of("a", 9), late.get(0).getValue());
        }
    }

    @Test
    void heldEventsSurviveASnapshot() throws Exception {
        OperatorFixture f = new OperatorFixture(dir, LayerType.MAMBA1);
        OperatorSubtaskState snapshot;
        try (var h = OperatorFixture.harness(f.builder().eventTimeOrdering(true), 1, 0)) {
            h.open();
            h.processElement(Tuple2.of("a", 2), 20);
            h.processElement(Tuple2.of("a", 1), 10);
            h.prepareSnapshotPreBarrier(1);
            snapshot = h.snapshot(1, 0);
            assertEquals(0, h.extractOutputValues().size(), "held until the watermark");
        }
        try (var h = OperatorFixture.harness(f.builder().eventTimeOrdering(true), 1, 0)) {
            h.initializeState(snapshot);
            h.open();
            h.processWatermark(100);
            List<Result> out = h.extractOutputValues();
            assertEquals(List.of(1, 2), out.stream().map(Result::token).toList());
        }
    }

    @Test
    void nonFiniteFeaturesAreRejected() throws Exception {
        io.flinkmamba.model.MambaModel model = io.flinkmamba.model.RandomModels.create(
                io.flinkmamba.model.RandomModels.config(LayerType.MAMBA1, 8, 1, 0, 4), 1, 0f);
        Path modelDir = dir.resolve("features");
        io.flinkmamba.model.ModelWriter.write(model, modelDir, io.flinkmamba.safetensors.DType.F32);
        MambaOperatorBuilder<Tuple2<String, Integer>, Long> builder =
                MambaOperatorBuilder.<Tuple2<String, Integer>, Long>forModel(modelDir)
                        .inputEncoder((event, input) -> java.util.Arrays.fill(input.features(),
                                event.f1 == 0 ? Float.NaN : event.f1 == 1 ? Float.POSITIVE_INFINITY : event.f1))
                        .outputMapper((event, out) -> out.eventsSeen(),
                                org.apache.flink.api.common.typeinfo.Types.LONG)
                        .bundleSize(1);
        try (KeyedOneInputStreamOperatorTestHarness<String, Tuple2<String, Integer>, Long> h =
                     new KeyedOneInputStreamOperatorTestHarness<>(builder.<String>build(OperatorFixture.EVENT_TYPE),
                             e -> e.f0, org.apache.flink.api.common.typeinfo.Types.STRING)) {
            h.setStateBackend(new org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend());
            h.open();
            h.processElement(Tuple2.of("a", 5), 0);
            h.processElement(Tuple2.of("a", 0), 1);
            h.processElement(Tuple2.of("a", 1), 2);
            h.processElement(Tuple2.of("a", 6), 3);
            h.endInput();
            assertEquals(List.of(1L, 2L), h.extractOutputValues());
            List<String> reasons = h.getSideOutput(MambaOperatorBuilder.rejectedTag(OperatorFixture.EVENT_TYPE))
                    .stream().map(r -> r.getValue().f1).toList();
            assertEquals(List.of("feature 0 is NaN", "feature 0 is Infinity"), reasons);
        }
    }

    @Test
    void afterAFailedBundleNothingSteps() throws Exception {
        OperatorFixture f = new OperatorFixture(dir, LayerType.MAMBA1);
        MambaOperatorBuilder<Tuple2<String, Integer>, Result> builder = f.builder()
                .outputMapper((event, out) -> {
                    if (event.f1 == 13) {
                        throw new IllegalStateException("mapper broke");
                    }
                    return new Result(event.f0, event.f1, out.hidden(), out.score(), out.sessionStart(),
                            out.eventsSeen());
                }, org.apache.flink.api.common.typeinfo.TypeInformation.of(Result.class))
                .bundleSize(100).maxBundleDelay(Duration.ofMillis(10));
        var harness = OperatorFixture.harness(builder, 1, 0);
        harness.setProcessingTime(0);
        harness.open();
        harness.processElement(Tuple2.of("a", 1), 0);
        harness.processElement(Tuple2.of("a", 13), 1);
        assertThrows(Exception.class, () -> harness.setProcessingTime(10), "the timer's flush fails");
        Exception later = assertThrows(Exception.class, () -> harness.processElement(Tuple2.of("a", 2), 2));
        assertTrue(later.getMessage().contains("failed in an earlier bundle"), later.getMessage());
        assertThrows(Exception.class, () -> harness.prepareSnapshotPreBarrier(1));
        assertThrows(Exception.class, harness::close);
    }

    @Test
    void engineAutoRunsOnTheCpuWithoutADeviceAndCudaSaysWhyNot() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeFalse(io.flinkmamba.engine.cuda.CudaEngine.available(),
                "a CUDA device is present");
        OperatorFixture f = new OperatorFixture(dir, LayerType.MAMBA1);
        List<Tuple2<String, Integer>> events = OperatorFixture.events(5, 40, 9);
        assertMatchesReference(f, f.builder().engine("auto").bundleSize(8), events);
        var cuda = OperatorFixture.harness(f.builder().engine("cuda"), 1, 0);
        Exception e = assertThrows(Exception.class, cuda::open);
        assertTrue(e.getMessage().contains("no CUDA device"), e.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> f.builder().engine("tpu").settings())
                .getMessage().contains("cpu, cuda, auto"));
    }

    @Test
    void matmulPrecisionComesFromTheConfigurationOrTheBuilder() throws Exception {
        OperatorFixture f = new OperatorFixture(dir, LayerType.MAMBA1);
        assertEquals(MatmulPrecision.HIGHEST, f.builder().settings().cudaMatmulPrecision());
        Configuration config = new Configuration();
        config.setString("mamba.cuda.matmul-precision", "high");
        assertEquals(MatmulPrecision.HIGH, f.builder().configure(config).settings().cudaMatmulPrecision());
        assertEquals(MatmulPrecision.HIGHEST, f.builder().configure(config)
                .cudaMatmulPrecision(MatmulPrecision.HIGHEST).settings().cudaMatmulPrecision());
        config.setString("mamba.cuda.matmul-precision", "medium");
        assertThrows(IllegalArgumentException.class, () -> f.builder().configure(config));
        assertEquals(MatmulPrecision.HIGH, MatmulPrecision.parse(" High "));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> MatmulPrecision.parse("fp8"))
                .getMessage().contains("highest, high"));
    }

    /** The key's state as the operator last wrote it to keyed state (null: never written). */
    private static StoredKeyState storedState(
            KeyedOneInputStreamOperatorTestHarness<String, Tuple2<String, Integer>, Result> h, String key)
            throws Exception {
        var backend = h.getOperator().getKeyedStateBackend();
        backend.setCurrentKey(key);
        return backend.getPartitionedState(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE,
                new ValueStateDescriptor<>("mamba-state", StoredKeyStateSerializer.INSTANCE)).value();
    }
}
