package io.flinkmamba.operator.internal;

import io.flinkmamba.engine.StepBatch;
import io.flinkmamba.operator.OutputMapper;
import org.apache.flink.annotation.Internal;
import org.apache.flink.streaming.api.operators.Output;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A bundle in engine calls by depth, for engines that step one event per key per call (the CUDA engine):
 * call t steps the t-th event of every key that has one. The keys are ordered by their event count, most
 * first, so the keys with a t-th event are always the first rows: each key keeps one batch row (or its
 * resident slot) for the whole bundle, and its state is staged in and out once.
 */
@Internal
final class DepthStepper<K, IN, OUT> extends BundleStepper<K, IN, OUT> {
    private final boolean[] sessionStart;
    private final double[] scores;

    DepthStepper(StepBatch batch, KeyStateStore<K> store, Scorer scorer, OutputMapper<IN, OUT> mapper,
                 Output<StreamRecord<OUT>> output, Duration sessionGap, OperatorMetrics metrics) {
        super(batch, store, scorer, mapper, output, sessionGap, metrics);
        this.sessionStart = new boolean[batch.capacity()];
        this.scores = new double[batch.capacity()];
    }

    @Override
    public void step(BundleBuffer.Bundle<K, IN> bundle, long now) throws Exception {
        List<Map.Entry<K, List<BufferedEvent<K, IN>>>> rows = bundle.keys();
        rows.sort((a, b) -> Integer.compare(b.getValue().size(), a.getValue().size()));
        int keys = rows.size();
        LiveKey[] live = new LiveKey[keys];
        for (int r = 0; r < keys; r++) {
            live[r] = store.load(rows.get(r).getKey(), now);
        }
        StateSlots slots = store.slots();
        slots.stage(live, keys, batch);
        long engineStart = System.nanoTime();
        int active = keys;
        for (int t = 0; active > 0; t++) {
            while (active > 0 && rows.get(active - 1).getValue().size() <= t) {
                active--;
            }
            if (active == 0) {
                break;
            }
            for (int r = 0; r < active; r++) {
                prepareRow(r, live[r], rows.get(r).getValue().get(t));
            }
            batch.size(active);
            scorer.scoreRows(live, active, scores);
            slots.step(batch, live);
            for (int r = 0; r < active; r++) {
                emit(r, live[r], rows.get(r).getValue().get(t), sessionStart[r], scores[r], now);
            }
        }
        metrics.engineTimeSince(engineStart);
        slots.unstage(live, keys, batch);
        for (int r = 0; r < keys; r++) {
            store.put(rows.get(r).getKey(), live[r]);
        }
    }

    /** Puts the event in batch row {@code row} (which holds the key's state), starting a new session if due. */
    private void prepareRow(int row, LiveKey key, BufferedEvent<K, IN> event) {
        if (sessionGapBefore(event.sessionTime(), key.lastEventTime)) {
            key.reset();
            store.slots().resetRow(batch, row);
            metrics.sessionGapReset();
        }
        sessionStart[row] = key.eventsSeen == 0;
        putInput(row, event);
    }
}
