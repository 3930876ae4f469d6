package io.flinkmamba.operator.internal;

import io.flinkmamba.engine.StepBatch;
import org.apache.flink.annotation.Internal;

import java.util.List;
import java.util.Map;

/**
 * Where the cached keys' recurrent states live between bundles, and how a bundle steps them there: on the
 * heap ({@link HeapStateSlots}: each key's own array, copied through the batch) or in an engine's resident
 * slots ({@link DeviceStateSlots}: stepped in place, moved to and from the host only on load and
 * write-back). The {@link KeyStateStore} and the steppers use this interface, never the engine's type.
 */
@Internal
interface StateSlots {

    /** Where a loaded key's stored state is decoded to: {@code states[offset ..]}, zeros on entry. */
    record Row(float[] states, int offset) {}

    /** Takes a key's state row for the write-back of a changed key. */
    @FunctionalInterface
    interface StateSink<K> {
        void write(K key, LiveKey live, float[] states, int offset) throws Exception;
    }

    /**
     * Gives a key that is not cached its storage, zeroed, and returns where its stored state is decoded to;
     * valid until the next call.
     */
    Row attach(LiveKey key);

    /** The key leaves the cache: its storage is free. */
    void detach(LiveKey key);

    /** Hands the state of each changed key among {@code keys} to {@code sink}. */
    <K> void readBack(List<Map.Entry<K, LiveKey>> keys, StateSink<K> sink) throws Exception;

    /** Before a bundle is stepped by depth: key {@code live[r]} takes batch row r, for r < {@code keys}. */
    void stage(LiveKey[] live, int keys, StepBatch batch);

    /** Steps the first {@code batch.size()} rows, each in the key's state staged for its row. */
    void step(StepBatch batch, LiveKey[] live);

    /** After a bundle is stepped by depth: the rows' states go back to their keys. */
    void unstage(LiveKey[] live, int keys, StepBatch batch);

    /** Row {@code row}'s key was reset ({@link LiveKey#reset}) before its next step. */
    void resetRow(StepBatch batch, int row);
}
