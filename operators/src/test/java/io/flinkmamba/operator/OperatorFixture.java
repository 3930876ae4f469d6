package io.flinkmamba.operator;

import io.flinkmamba.engine.CpuEngine;
import io.flinkmamba.engine.StepBatch;
import io.flinkmamba.model.MambaConfig;
import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.model.MambaModel;
import io.flinkmamba.model.ModelWriter;
import io.flinkmamba.model.RandomModels;
import io.flinkmamba.safetensors.DType;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A small token model written to a folder, events of the form (key, token), and the reference: each key
 * stepped alone through the engine.
 */
final class OperatorFixture {
    static final int MAX_PARALLELISM = 128;
    static final TypeInformation<Tuple2<String, Integer>> EVENT_TYPE = Types.TUPLE(Types.STRING, Types.INT);

    /** One operator output, as the tests' mapper builds it. */
    record Result(String key, int token, float[] hidden, double score, boolean sessionStart, long eventsSeen)
            implements Serializable {}

    final MambaModel model;
    final Path modelDir;

    OperatorFixture(Path dir, LayerType layer) throws IOException {
        MambaConfig config = RandomModels.config(layer, 24, 2, 16, 8);
        this.model = RandomModels.create(config, 5, 0.1f);
        this.modelDir = dir.resolve("model");
        ModelWriter.write(model, modelDir, DType.F32);
    }

    MambaOperatorBuilder<Tuple2<String, Integer>, Result> builder() {
        return MambaOperatorBuilder.<Tuple2<String, Integer>, Result>forModel(modelDir)
                .inputEncoder((event, input) -> {
                    if (event.f1 == -99) {
                        throw new IllegalArgumentException("poison event");
                    }
                    input.token(event.f1);
                })
                .outputMapper((event, out) -> new Result(event.f0, event.f1, out.hidden(), out.score(),
                        out.sessionStart(), out.eventsSeen()), TypeInformation.of(Result.class));
    }

    static KeyedOneInputStreamOperatorTestHarness<String, Tuple2<String, Integer>, Result> harness(
            MambaOperatorBuilder<Tuple2<String, Integer>, Result> builder, int parallelism, int subtask)
            throws Exception {
        KeyedOneInputStreamOperatorTestHarness<String, Tuple2<String, Integer>, Result> harness =
                new KeyedOneInputStreamOperatorTestHarness<>(builder.<String>build(EVENT_TYPE), e -> e.f0,
                        Types.STRING, MAX_PARALLELISM, parallelism, subtask);
        harness.setStateBackend(new EmbeddedRocksDBStateBackend());
        return harness;
    }

    static List<Tuple2<String, Integer>> events(int keys, int count, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Tuple2<String, Integer>> events = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            // Skewed keys: some keys get several events per bundle, others few.
            int key = (int) Math.floor(keys * Math.pow(random.nextDouble(), 2));
            events.add(Tuple2.of("key-" + key, random.nextInt(16)));
        }
        return events;
    }

    /** Each key's hidden outputs, stepping it alone, event by event, from a zero state. */
    Map<String, List<float[]>> reference(List<Tuple2<String, Integer>> events) {
        Map<String, float[]> states = new LinkedHashMap<>();
        Map<String, List<float[]>> hidden = new LinkedHashMap<>();
        int d = model.config().dModel();
        try (CpuEngine engine = new CpuEngine(model)) {
            StepBatch batch = engine.newBatch(1, StepBatch.Input.TOKENS, false);
            batch.size(1);
            for (Tuple2<String, Integer> e : events) {
                float[] state = states.computeIfAbsent(e.f0, k -> new float[batch.floatsPerKey()]);
                System.arraycopy(state, 0, batch.states(), 0, state.length);
                batch.tokens()[0] = e.f1;
                engine.step(batch);
                System.arraycopy(batch.states(), 0, state, 0, state.length);
                hidden.computeIfAbsent(e.f0, k -> new ArrayList<>()).add(java.util.Arrays.copyOf(batch.hidden(), d));
            }
        }
        return hidden;
    }

    /** Results grouped by key, in emission order. */
    static Map<String, List<Result>> byKey(List<Result> results) {
        Map<String, List<Result>> out = new LinkedHashMap<>();
        for (Result r : results) {
            out.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(r);
        }
        return out;
    }
}
