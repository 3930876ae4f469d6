package io.flinkmamba.operator.internal;

import io.flinkmamba.engine.MambaEngine;
import io.flinkmamba.engine.StepBatch;
import io.flinkmamba.event.EventPrediction;
import io.flinkmamba.operator.MambaOutput;
import io.flinkmamba.operator.OutputMapper;
import org.apache.flink.annotation.Internal;
import org.apache.flink.streaming.api.operators.Output;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

import java.time.Duration;
import java.util.Arrays;

/**
 * Steps a drained bundle through the engine, each key's events in arrival order, and emits one result per
 * event: {@link SequenceStepper} in one engine call where the engine steps sequences, else
 * {@link DepthStepper} in one call per depth. Both take the keys from the {@link KeyStateStore} and return
 * them to it, start sessions after a gap, and share what happens after an event's step ({@link #emit}).
 */
@Internal
public abstract class BundleStepper<K, IN, OUT> {
    protected final StepBatch batch;
    protected final KeyStateStore<K> store;
    protected final Scorer scorer;
    protected final OperatorMetrics metrics;
    private final OutputMapper<IN, OUT> mapper;
    private final Output<StreamRecord<OUT>> output;
    /** Reused for every result: the output serializes or copies a record before the next one. */
    private final StreamRecord<OUT> record = new StreamRecord<>(null);
    private final Duration sessionGap;
    private final int dModel;
    private final int vocab;

    BundleStepper(StepBatch batch, KeyStateStore<K> store, Scorer scorer, OutputMapper<IN, OUT> mapper,
                  Output<StreamRecord<OUT>> output, Duration sessionGap, OperatorMetrics metrics) {
        this.batch = batch;
        this.store = store;
        this.scorer = scorer;
        this.mapper = mapper;
        this.output = output;
        this.sessionGap = sessionGap;
        this.metrics = metrics;
        this.dModel = batch.dModel();
        this.vocab = batch.vocabSize();
    }

    /** The stepper for the engine: by sequence where it steps sequences, else by depth. */
    public static <K, IN, OUT> BundleStepper<K, IN, OUT> forEngine(
            MambaEngine engine, StepBatch batch, KeyStateStore<K> store, Scorer scorer, OutputMapper<IN, OUT> mapper,
            Output<StreamRecord<OUT>> output, Duration sessionGap, OperatorMetrics metrics) {
        return engine.stepsSequences()
                ? new SequenceStepper<>(engine, batch, store, scorer, mapper, output, sessionGap, metrics)
                : new DepthStepper<>(batch, store, scorer, mapper, output, sessionGap, metrics);
    }

    /** Steps every event of the bundle and emits their results; {@code now} is the processing time. */
    public abstract void step(BundleBuffer.Bundle<K, IN> bundle, long now) throws Exception;

    /** Whether an event at {@code sessionTime} starts a new session after the key's last event. */
    protected boolean sessionGapBefore(long sessionTime, long lastEventTime) {
        return !sessionGap.isZero() && lastEventTime != LiveKey.NO_TIME
                && sessionTime - lastEventTime > sessionGap.toMillis();
    }

    /** Puts the event's model input into batch row {@code row}. */
    protected void putInput(int row, BufferedEvent<K, IN> event) {
        if (event.features() == null) {
            batch.tokens()[row] = event.token();
        } else {
            System.arraycopy(event.features(), 0, batch.features(), row * dModel, dModel);
        }
    }

    /** Records row {@code row}'s step in the key (its state stays where it was stepped) and emits the result. */
    protected void emit(int row, LiveKey key, BufferedEvent<K, IN> event, boolean sessionStart, double score,
                        long now) throws Exception {
        // Private copies: the output hands them to user code, and the hidden stays with the key.
        float[] hidden = Arrays.copyOfRange(batch.hidden(), row * dModel, (row + 1) * dModel);
        float[] logits = batch.hasLogits() ? Arrays.copyOfRange(batch.logits(), row * vocab, (row + 1) * vocab) : null;
        EventPrediction prediction = null;
        double eventLikelihood = Double.NaN;
        if (scorer.assessesEvents()) {
            // key.lastHidden is still the previous event's hidden here.
            Scorer.EventAssessment assessment = scorer.assess(key, event, sessionStart, score, hidden);
            score = assessment.score();
            eventLikelihood = assessment.likelihood();
            prediction = assessment.prediction();
        }
        key.lastHidden = hidden;
        key.eventsSeen++;
        key.lastEventTime = event.sessionTime();
        key.lastAccess = now;
        key.lastBundle = store.bundle();
        key.dirty = true;
        OUT result = mapper.map(event.event(),
                new MambaOutput(hidden, logits, score, sessionStart, key.eventsSeen, event.timestamp(), prediction,
                        eventLikelihood));
        output.collect(record.replace(result, event.timestamp()));
        metrics.eventOut();
    }
}
