package io.flinkmamba.operator.internal;

import io.flinkmamba.engine.MambaEngine;
import io.flinkmamba.engine.StepBatch;
import io.flinkmamba.operator.OutputMapper;
import org.apache.flink.annotation.Internal;
import org.apache.flink.streaming.api.operators.Output;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * All of a bundle's events in one engine call, for engines that step sequences (the CPU engine), so a hot
 * key with many events in the bundle costs no extra calls: rows are events, grouped by key in arrival
 * order; the engine steps each key's cached state array in place (no copy in or out), and a session gap
 * inside the bundle moves the key's later events to a fresh, zero array.
 */
@Internal
final class SequenceStepper<K, IN, OUT> extends BundleStepper<K, IN, OUT> {
    private final MambaEngine engine;
    private final int floats;
    private final boolean[] sessionStart;
    private final boolean[] firstOfKey;
    private final double[] scores;

    SequenceStepper(MambaEngine engine, StepBatch batch, KeyStateStore<K> store, Scorer scorer,
                    OutputMapper<IN, OUT> mapper, Output<StreamRecord<OUT>> output, Duration sessionGap,
                    OperatorMetrics metrics) {
        super(batch, store, scorer, mapper, output, sessionGap, metrics);
        this.engine = engine;
        this.floats = batch.floatsPerKey();
        this.sessionStart = new boolean[batch.capacity()];
        this.firstOfKey = new boolean[batch.capacity()];
        this.scores = new double[batch.capacity()];
    }

    @Override
    public void step(BundleBuffer.Bundle<K, IN> bundle, long now) throws Exception {
        List<Map.Entry<K, List<BufferedEvent<K, IN>>>> keys = bundle.keys();
        int events = bundle.events();
        LiveKey[] live = new LiveKey[keys.size()];
        // Per bundle, not kept: it holds the keys' state arrays.
        float[][] stateOfRow = new float[events][];
        int row = 0;
        for (int i = 0; i < keys.size(); i++) {
            LiveKey key = store.load(keys.get(i).getKey(), now);
            live[i] = key;
            float[] current = key.state;
            long lastTime = key.lastEventTime;
            long seen = key.eventsSeen;
            boolean first = true;
            for (BufferedEvent<K, IN> event : keys.get(i).getValue()) {
                if (sessionGapBefore(event.sessionTime(), lastTime)) {
                    // The key's earlier events in this bundle still step the old array: the new session
                    // takes a fresh one.
                    if (first) {
                        Arrays.fill(current, 0f);
                    } else {
                        current = new float[floats];
                    }
                    seen = 0;
                    metrics.sessionGapReset();
                }
                sessionStart[row] = seen == 0;
                firstOfKey[row] = first;
                putInput(row, event);
                stateOfRow[row++] = current;
                seen++;
                lastTime = event.sessionTime();
                first = false;
            }
        }
        long engineStart = System.nanoTime();
        batch.size(events);
        scorer.scoreFirstRows(live, events, firstOfKey, sessionStart, scores);
        engine.stepSequences(batch, stateOfRow);
        scorer.scoreFromPreviousRows(events, firstOfKey, sessionStart, scores);
        metrics.engineTimeSince(engineStart);
        row = 0;
        for (int i = 0; i < keys.size(); i++) {
            LiveKey key = live[i];
            for (BufferedEvent<K, IN> event : keys.get(i).getValue()) {
                if (sessionStart[row]) {
                    key.eventsSeen = 0;
                }
                emit(row, key, event, sessionStart[row], scores[row], now);
                row++;
            }
            key.state = stateOfRow[row - 1];
            store.put(keys.get(i).getKey(), key);
        }
    }
}
