package io.flinkmamba.operator;

import io.flinkmamba.event.DefaultEventModel;
import io.flinkmamba.engine.MambaEngine;
import io.flinkmamba.engine.StepBatch;
import io.flinkmamba.event.AnomalyLikelihood;
import io.flinkmamba.event.EventModel;
import io.flinkmamba.model.MambaConfig;
import io.flinkmamba.operator.internal.BundleBuffer;
import io.flinkmamba.operator.internal.BundleStepper;
import io.flinkmamba.operator.internal.EngineFactory;
import io.flinkmamba.operator.internal.EventTimeHold;
import io.flinkmamba.operator.internal.KeyStateStore;
import io.flinkmamba.operator.internal.OperatorMetrics;
import io.flinkmamba.operator.internal.OperatorModel;
import io.flinkmamba.operator.internal.Scorer;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.InternalTimer;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.operators.Triggerable;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;


/**
 * Runs a Mamba model once per event, per key, keeping every key's recurrent state in Flink keyed state.
 *
 * <p>Events are buffered into a bundle across keys ({@link BundleBuffer}) and stepped together
 * ({@link BundleStepper}): a key with several events in the bundle advances in order. The bundle is
 * flushed on its count or byte limit, after its maximum delay, before every watermark is forwarded, in
 * {@link #prepareSnapshotPreBarrier} (so a checkpoint never holds buffered events) and at the end of input.
 * Recently used keys stay decoded between bundles ({@link KeyStateStore}) and are written back on eviction,
 * when idle, before every checkpoint and at the end of input, so every snapshot is complete.
 *
 * <p>With event-time ordering, events wait in keyed state until the watermark passes them and are then
 * stepped in timestamp order ({@link EventTimeHold}); an event at or behind the watermark on arrival goes
 * to the late side output.
 *
 * <p>An event model (a folder with {@code flink-mamba.json}) takes its input from an {@link EventExtractor}:
 * each event is scored by {@link EventModel#score} under the key's previous hidden, predicted from its own,
 * and its score updates the key's {@link AnomalyLikelihood}, whose state is kept with the key's state
 * ({@link Scorer}).
 *
 * <p>This class coordinates: it wires the parts up in {@link #open}, routes each event (encode, hold or
 * buffer, reject) and decides when a bundle is stepped and when key states are written back.
 * Built and applied by {@link MambaOperatorBuilder}.
 */
@Internal
public final class MambaOperator<K, IN, OUT> extends AbstractStreamOperator<OUT>
        implements OneInputStreamOperator<IN, OUT>, BoundedOneInput, Triggerable<K, VoidNamespace> {

    private final MambaOperatorSettings settings;
    private final InputEncoder<IN> encoder;
    private final EventExtractor<IN> extractor;
    private final AnomalyLikelihood likelihood;
    private final OutputMapper<IN, OUT> mapper;
    private final OutputTag<Tuple2<IN, String>> rejectedTag;
    private final OutputTag<IN> lateTag;
    private final TypeInformation<IN> inputType;

    private transient MambaEngine engine;
    private transient OperatorMetrics metrics;
    private transient EventEncoding<IN> encoding;
    /** Null without event-time ordering. */
    private transient EventTimeHold<IN> hold;
    private transient BundleBuffer<K, IN> buffer;
    private transient KeyStateStore<K> store;
    private transient BundleStepper<K, IN, OUT> stepper;
    /** Set when a flush failed: its keys' live states are lost, so nothing may be stepped until a restart. */
    private transient Exception failure;

    MambaOperator(MambaOperatorSettings settings, InputEncoder<IN> encoder, EventExtractor<IN> extractor,
                  AnomalyLikelihood likelihood, OutputMapper<IN, OUT> mapper, TypeInformation<IN> inputType) {
        if ((encoder == null) == (extractor == null)) {
            throw new IllegalArgumentException("give either an input encoder or an event extractor (event models)");
        }
        this.settings = settings;
        this.encoder = encoder;
        this.extractor = extractor;
        this.likelihood = likelihood;
        this.mapper = mapper;
        this.inputType = inputType;
        this.rejectedTag = MambaOperatorBuilder.rejectedTag(inputType);
        this.lateTag = MambaOperatorBuilder.lateTag(inputType);
    }

    @Override
    public void open() throws Exception {
        super.open();
        // builtin:default names the shipped event model, extracted on this TaskManager.
        OperatorModel model = OperatorModel.load(DefaultEventModel.resolve(settings.modelDir()), extractor != null);
        MambaConfig config = model.backbone().config();
        engine = EngineFactory.create(settings, model.backbone(), getRuntimeContext());
        boolean tokens = config.hasLmHead();
        int capacity = settings.bundleSize();
        StepBatch batch = engine.newBatch(capacity, tokens ? StepBatch.Input.TOKENS : StepBatch.Input.FEATURES, tokens);
        encoding = new EventEncoding<>(encoder, extractor, model.eventModel(), config);

        metrics = new OperatorMetrics(getMetricGroup());
        store = new KeyStateStore<>(getPartitionedState(KeyStateStore.descriptor(settings.stateTtl())), this, engine,
                capacity, settings, model.fingerprint(), model.eventModel() != null ? likelihood.stateSize() : -1,
                getKeyedStateBackend().isSafeToReuseKVState(), metrics);
        if (settings.eventTimeOrdering()) {
            hold = new EventTimeHold<>(getPartitionedState(EventTimeHold.descriptor(
                    inputType.createSerializer(getExecutionConfig().getSerializerConfig()))),
                    getInternalTimerService("mamba-release", VoidNamespaceSerializer.INSTANCE, this));
        }
        stepper = BundleStepper.forEngine(engine, batch, store,
                new Scorer(engine, batch, model.eventModel(), likelihood), mapper, output, settings.sessionGap(),
                metrics);
        buffer = new BundleBuffer<>(capacity, settings.bundleBytes(), settings.maxBundleDelay(),
                encoding.inputBytes(), getProcessingTimeService(), this::flush);
    }

    @Override
    public void processElement(StreamRecord<IN> record) throws Exception {
        if (failure != null) {
            flush(); // throws
        }
        metrics.eventIn();
        if (!settings.eventTimeOrdering()) {
            accept(record.getValue(), record.hasTimestamp() ? record.getTimestamp() : null);
            return;
        }
        switch (hold.offer(record)) {
            case HELD -> { }
            case LATE -> {
                metrics.eventLate();
                output.collect(lateTag, record);
            }
            case NO_TIMESTAMP -> reject(record.getValue(), null, "event-time ordering needs a timestamp on every event");
        }
    }

    /** The watermark passed a key's held events: they join the bundle in timestamp (then arrival) order. */
    @Override
    public void onEventTime(InternalTimer<K, VoidNamespace> timer) throws Exception {
        hold.release(timer.getTimestamp(), this::accept);
    }

    @Override
    public void onProcessingTime(InternalTimer<K, VoidNamespace> timer) {
        // Only event-time timers are registered.
    }

    /** Encodes an event for the current key and buffers it, or rejects it. */
    @SuppressWarnings("unchecked")
    private void accept(IN event, Long eventTime) throws Exception {
        String problem = encoding.encode(event);
        if (problem != null) {
            reject(event, eventTime, problem);
            return;
        }
        long arrival = getProcessingTimeService().getCurrentProcessingTime();
        long timestamp = eventTime != null ? eventTime : arrival;
        buffer.add(encoding.buffered((K) getCurrentKey(), event, timestamp,
                settings.sessionGapEventTime() ? timestamp : arrival));
    }

    private void reject(IN event, Long timestamp, String reason) {
        metrics.eventRejected();
        StreamRecord<Tuple2<IN, String>> rejected = new StreamRecord<>(Tuple2.of(event, reason));
        if (timestamp != null) {
            rejected.setTimestamp(timestamp);
        }
        output.collect(rejectedTag, rejected);
    }

    /**
     * Steps everything buffered, then fires the event-time timers (releasing held events into the bundle),
     * steps those too, and only then forwards the watermark: no result is ever behind a watermark already
     * sent.
     */
    @Override
    public void processWatermark(Watermark mark) throws Exception {
        flush();
        if (timeServiceManager != null) {
            timeServiceManager.advanceWatermark(mark);
        }
        flush();
        output.emitWatermark(mark);
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        super.prepareSnapshotPreBarrier(checkpointId);
        flush();
        store.writeBackAll();
    }

    @Override
    public void endInput() throws Exception {
        flush();
        store.writeBackAll();
    }

    @Override
    public void finish() throws Exception {
        if (buffer != null) { // null when open() failed
            flush();
            store.writeBackAll();
        }
        super.finish();
    }

    @Override
    public void close() throws Exception {
        if (engine != null) {
            engine.close();
        }
        super.close();
    }

    /**
     * Steps every buffered event, then lets the store evict and write back. A failure inside (a throwing
     * output mapper, a failing downstream operator) loses the live states of the keys in the bundle, so it
     * is remembered and every later call fails too: Flink fails a task asynchronously when a timer's flush
     * throws, and until then no key may step from an older state.
     */
    private void flush() throws Exception {
        if (failure != null) {
            throw new IllegalStateException("the Mamba operator failed in an earlier bundle; waiting for the job to "
                    + "restart from its last checkpoint", failure);
        }
        if (buffer.isEmpty()) {
            return;
        }
        try {
            BundleBuffer.Bundle<K, IN> bundle = buffer.drain();
            metrics.bundle(bundle.events());
            stepper.step(bundle, getProcessingTimeService().getCurrentProcessingTime());
            store.endBundle();
        } catch (Exception e) {
            failure = e;
            throw e;
        }
    }
}
