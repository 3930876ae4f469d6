package io.flinkmamba.operator;

import io.flinkmamba.engine.ReferenceCheck;
import io.flinkmamba.engine.cuda.CudaEngine;
import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.operator.OperatorFixture.Result;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
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
class MambaOperatorOnGpuTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void requireDevice() {
        Assumptions.assumeTrue(CudaEngine.available(), "no CUDA device, driver or kernels here");
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, Tuple2<String, Integer>, Result> harness(
            MambaOperatorBuilder<Tuple2<String, Integer>, Result> builder) throws Exception {
        return new KeyedOneInputStreamOperatorTestHarness<>(builder.<String>build(OperatorFixture.EVENT_TYPE),
                e -> e.f0, Types.STRING);
    }

    private List<Result> run(MambaOperatorBuilder<Tuple2<String, Integer>, Result> builder,
                             List<Tuple2<String, Integer>> events, int restartAt) throws Exception {
        List<Result> results = new ArrayList<>();
        OperatorSubtaskState snapshot = null;
        var first = harness(builder);
        first.open();
        for (int i = 0; i < restartAt; i++) {
            first.processElement(events.get(i), i);
        }
        first.prepareSnapshotPreBarrier(1);
        snapshot = first.snapshot(1, restartAt);
        results.addAll(first.extractOutputValues());
        first.close();
        var second = harness(builder);
        second.initializeState(snapshot);
        second.open();
        for (int i = restartAt; i < events.size(); i++) {
            second.processElement(events.get(i), i);
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
}
