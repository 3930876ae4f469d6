package io.flinkmamba.operator.internal;

import io.flinkmamba.engine.ResidentSlots;
import io.flinkmamba.engine.StepBatch;
import io.flinkmamba.state.StateLayout;
import org.apache.flink.annotation.Internal;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Cached states resident in an engine's slot pool (the CUDA engine's device memory): each cached key holds a
 * slot, stepped in place, so a bundle moves only inputs and outputs. States cross to and from the host only
 * when a key is loaded from keyed state or written back, in groups of {@value #MOVES} keys. A restored job
 * starts with an empty pool: keys come back from keyed state as they arrive.
 */
@Internal
final class DeviceStateSlots implements StateSlots {
    /** Device-resident states move to and from the host in groups of this many keys. */
    static final int MOVES = 64;
    private static final float[] NO_STATE = new float[0];

    private final ResidentSlots pool;
    private final int floats;
    private final int[] freeSlots;
    private int freeSlotCount;
    /** Host rows of states on their way to or from device slots {@code movingSlots}. */
    private final float[] movingStates;
    private final int[] movingSlots;
    private int moving;
    /** The slot of each batch row while a bundle steps. */
    private final int[] rowSlots;

    DeviceStateSlots(ResidentSlots pool, StateLayout layout, int batchCapacity) {
        this.pool = pool;
        this.floats = layout.floatsPerKey();
        this.freeSlotCount = pool.residentSlots();
        this.freeSlots = new int[freeSlotCount];
        for (int i = 0; i < freeSlotCount; i++) {
            freeSlots[i] = freeSlotCount - 1 - i;
        }
        this.movingStates = new float[MOVES * floats];
        this.movingSlots = new int[MOVES];
        this.rowSlots = new int[batchCapacity];
    }

    /** The key takes a free slot; its state (zeros unless decoded into the row) goes up with the next move. */
    @Override
    public Row attach(LiveKey key) {
        key.state = NO_STATE;
        key.slot = freeSlots[--freeSlotCount];
        return new Row(movingStates, queueSlotMove(key.slot));
    }

    @Override
    public void detach(LiveKey key) {
        if (key.slot >= 0) {
            freeSlots[freeSlotCount++] = key.slot;
        }
    }

    @Override
    public <K> void readBack(List<Map.Entry<K, LiveKey>> keys, StateSink<K> sink) throws Exception {
        List<Map.Entry<K, LiveKey>> dirty = keys.stream().filter(e -> e.getValue().dirty).toList();
        for (int start = 0; start < dirty.size(); start += MOVES) {
            int n = Math.min(MOVES, dirty.size() - start);
            for (int i = 0; i < n; i++) {
                movingSlots[i] = dirty.get(start + i).getValue().slot;
            }
            pool.readSlots(movingSlots, n, movingStates);
            for (int i = 0; i < n; i++) {
                LiveKey live = dirty.get(start + i).getValue();
                if (live.slotStale) { // reset and not stepped since: its state is zeros, not the slot's
                    Arrays.fill(movingStates, i * floats, (i + 1) * floats, 0f);
                }
                sink.write(dirty.get(start + i).getKey(), live, movingStates, i * floats);
            }
        }
    }

    @Override
    public void stage(LiveKey[] live, int keys, StepBatch batch) {
        for (int r = 0; r < keys; r++) {
            rowSlots[r] = live[r].slot;
        }
        writeMovingSlots();
    }

    @Override
    public void step(StepBatch batch, LiveKey[] live) {
        zeroStaleSlots(live, batch.size());
        pool.stepResident(batch, rowSlots);
    }

    @Override
    public void unstage(LiveKey[] live, int keys, StepBatch batch) {
        // The states stay in their slots.
    }

    @Override
    public void resetRow(StepBatch batch, int row) {
        // The key's slot is stale (LiveKey.reset) and is zeroed before the step.
    }

    /** Queues a zero state row for device slot {@code slot}, moving the queue up when full; returns its offset. */
    private int queueSlotMove(int slot) {
        if (moving == MOVES) {
            writeMovingSlots();
        }
        Arrays.fill(movingStates, moving * floats, (moving + 1) * floats, 0f);
        movingSlots[moving] = slot;
        return moving++ * floats;
    }

    /** Writes the queued state rows into their device slots. */
    private void writeMovingSlots() {
        if (moving > 0) {
            pool.writeSlots(movingSlots, moving, movingStates);
            moving = 0;
        }
    }

    /** Zeroes the slots of the first {@code rows} keys that were reset (session gap, expiry) since stepping. */
    private void zeroStaleSlots(LiveKey[] live, int rows) {
        for (int r = 0; r < rows; r++) {
            if (live[r].slotStale) {
                queueSlotMove(live[r].slot);
                live[r].slotStale = false;
            }
        }
        writeMovingSlots();
    }
}
