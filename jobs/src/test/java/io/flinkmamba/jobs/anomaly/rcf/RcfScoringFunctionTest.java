package io.flinkmamba.jobs.anomaly.rcf;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** The scoring function in Flink's keyed operator test harness, on the RocksDB state backend. */
class RcfScoringFunctionTest {
    /** A small forest, so that the harness runs stay quick; the mechanics are those of any size. */
    static final RcfSettings SMALL = RcfSettings.of(20, 64, 2, 1e-3, 3, 0.5);

    /** Two hosts' interleaved seasonal series, host b three rows to every two of host a. */
    static List<Tuple2<String, Double>> interleaved(int rows) {
        double[] a = RcfDetectorTest.seasonal(rows, rows / 2, 21);
        double[] b = RcfDetectorTest.seasonal(rows, rows / 3, 22);
        List<Tuple2<String, Double>> events = new ArrayList<>();
        for (int i = 0, ia = 0, ib = 0; ia < rows || ib < rows; i++) {
            if (i % 5 < 2 ? ia < rows : ib >= rows) {
                events.add(Tuple2.of("a", a[ia++]));
            } else {
                events.add(Tuple2.of("b", b[ib++]));
            }
        }
        return events;
    }

    static KeyedOneInputStreamOperatorTestHarness<String, Tuple2<String, Double>, Tuple2<Tuple2<String, Double>, Double>>
            harness(RcfSettings settings) throws Exception {
        RcfScoringFunction<Tuple2<String, Double>> function =
                new RcfScoringFunction<>(new RcfDetector(settings, 1), e -> new double[] {e.f1});
        var harness = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(function),
                e -> e.f0, Types.STRING);
        harness.setStateBackend(new EmbeddedRocksDBStateBackend());
        return harness;
    }

    static List<Tuple2<Tuple2<String, Double>, Double>> run(RcfSettings settings, List<Tuple2<String, Double>> events)
            throws Exception {
        try (var harness = harness(settings)) {
            harness.open();
            long time = 0;
            for (Tuple2<String, Double> e : events) {
                harness.processElement(e, time++);
            }
            return new ArrayList<>(harness.extractOutputValues());
        }
    }

    /** Each key's scores, in output order. */
    static Map<String, List<Double>> byKey(List<Tuple2<Tuple2<String, Double>, Double>> results) {
        Map<String, List<Double>> scores = new LinkedHashMap<>();
        for (Tuple2<Tuple2<String, Double>, Double> r : results) {
            scores.computeIfAbsent(r.f0.f0, k -> new ArrayList<>()).add(r.f1);
        }
        return scores;
    }

    @Test
    void eachEventComesOutOnceInInputOrderWithItsKeysDetectorScore() throws Exception {
        List<Tuple2<String, Double>> events = interleaved(300);
        List<Tuple2<Tuple2<String, Double>, Double>> results = run(SMALL, events);
        assertEquals(events.size(), results.size());
        for (int i = 0; i < events.size(); i++) {
            assertEquals(events.get(i), results.get(i).f0, "event " + i);
        }
        RcfDetector detector = new RcfDetector(SMALL, 1);
        for (String key : List.of("a", "b")) {
            List<Double> expected = new ArrayList<>();
            var forest = detector.newForest(key);
            for (Tuple2<String, Double> e : events) {
                if (e.f0.equals(key)) {
                    expected.add(detector.score(forest, new double[] {e.f1}));
                }
            }
            assertEquals(expected, byKey(results).get(key), "key " + key + " scores as its own forest alone");
        }
        assertNotEquals(byKey(results).get("a"), byKey(results).get("b"));
    }

    /** Cache sizes 0 (state read per event), 1 (evicted by every key change) and the default. */
    @ParameterizedTest
    @ValueSource(ints = {0, 1, 64})
    void aSnapshotAtEventKRestoredIntoANewHarnessContinuesAsAnUninterruptedRun(int cacheKeys) throws Exception {
        RcfSettings settings = SMALL.withCacheKeys(cacheKeys);
        List<Tuple2<String, Double>> events = interleaved(250);
        List<Tuple2<Tuple2<String, Double>, Double>> uninterrupted = run(settings, events);

        int k = 211;
        OperatorSubtaskState snapshot;
        List<Tuple2<Tuple2<String, Double>, Double>> resumed = new ArrayList<>();
        try (var first = harness(settings)) {
            first.open();
            for (int i = 0; i < k; i++) {
                first.processElement(events.get(i), i);
            }
            snapshot = first.snapshot(1, k);
            // Events after the snapshot that the restored job replays: they must not leak into it.
            for (int i = k; i < k + 20; i++) {
                first.processElement(events.get(i), i);
            }
            resumed.addAll(first.extractOutputValues().subList(0, k));
        }
        try (var second = harness(settings)) {
            second.initializeState(snapshot);
            second.open();
            for (int i = k; i < events.size(); i++) {
                second.processElement(events.get(i), i);
            }
            resumed.addAll(second.extractOutputValues());
        }
        assertEquals(uninterrupted, resumed);
    }

    @Test
    void rejectedEventsAreDroppedAndLeaveTheirKeysForestUntouched() throws Exception {
        List<Tuple2<String, Double>> events = interleaved(120);
        List<Tuple2<String, Double>> withBadOnes = new ArrayList<>(events);
        withBadOnes.add(40, Tuple2.of("a", Double.NaN));
        withBadOnes.add(90, Tuple2.of("b", Double.POSITIVE_INFINITY));
        assertEquals(run(SMALL, events), run(SMALL, withBadOnes));
    }
}
