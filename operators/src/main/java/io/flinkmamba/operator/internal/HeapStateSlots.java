package io.flinkmamba.operator.internal;

import io.flinkmamba.engine.MambaEngine;
import io.flinkmamba.engine.StepBatch;
import io.flinkmamba.state.StateLayout;
import org.apache.flink.annotation.Internal;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Cached states on the heap, one array per key ({@link LiveKey#state}): engines that step sequences step
 * them where they are; stepping by depth copies each into its batch row and back once per bundle.
 */
@Internal
final class HeapStateSlots implements StateSlots {
    private final MambaEngine engine;
    private final int floats;

    HeapStateSlots(MambaEngine engine, StateLayout layout) {
        this.engine = engine;
        this.floats = layout.floatsPerKey();
    }

    @Override
    public Row attach(LiveKey key) {
        key.state = new float[floats];
        return new Row(key.state, 0);
    }

    @Override
    public void detach(LiveKey key) {
        // The array goes with the key.
    }

    @Override
    public <K> void readBack(List<Map.Entry<K, LiveKey>> keys, StateSink<K> sink) throws Exception {
        for (Map.Entry<K, LiveKey> e : keys) {
            sink.write(e.getKey(), e.getValue(), e.getValue().state, 0);
        }
    }

    @Override
    public void stage(LiveKey[] live, int keys, StepBatch batch) {
        for (int r = 0; r < keys; r++) {
            System.arraycopy(live[r].state, 0, batch.states(), r * floats, floats);
        }
    }

    @Override
    public void step(StepBatch batch, LiveKey[] live) {
        engine.step(batch);
    }

    @Override
    public void unstage(LiveKey[] live, int keys, StepBatch batch) {
        for (int r = 0; r < keys; r++) {
            System.arraycopy(batch.states(), r * floats, live[r].state, 0, floats);
        }
    }

    @Override
    public void resetRow(StepBatch batch, int row) {
        Arrays.fill(batch.states(), row * floats, (row + 1) * floats, 0f);
    }
}
