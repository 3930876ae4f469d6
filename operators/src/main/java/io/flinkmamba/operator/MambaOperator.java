package io.flinkmamba.operator;

import io.flinkmamba.engine.CpuEngine;
import io.flinkmamba.engine.MambaEngine;
import io.flinkmamba.engine.StepBatch;
import io.flinkmamba.engine.cuda.CudaEngine;
import io.flinkmamba.event.AnomalyLikelihood;
import io.flinkmamba.event.EventFields;
import io.flinkmamba.event.EventModel;
import io.flinkmamba.model.MambaConfig;
import io.flinkmamba.model.MambaModel;
import io.flinkmamba.model.ModelFingerprint;
import io.flinkmamba.model.ModelLoader;
import io.flinkmamba.operator.internal.BufferedEvent;
import io.flinkmamba.operator.internal.BundleStepper;
import io.flinkmamba.operator.internal.BundleBuffer;
import io.flinkmamba.operator.internal.EventTimeHold;
import io.flinkmamba.operator.internal.KeyStateStore;
import io.flinkmamba.operator.internal.OperatorMetrics;
import io.flinkmamba.operator.internal.Scorer;
import io.flinkmamba.state.StateCodec;
import io.flinkmamba.state.StateLayout;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.externalresource.ExternalResourceInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.InternalTimer;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.operators.Triggerable;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;

import java.nio.file.Path;

/**
 * Runs a Mamba model once per event, per key, keeping every key's recurrent state in Flink keyed state.
 *
 * <p>Events are buffered into a bundle across keys and stepped together, one engine call per step: a key
 * with several events in the bundle advances in order (the batch of step t holds the keys that have a t-th
 * event). The bundle is flushed on its count or byte limit, after its maximum delay, before every
 * watermark is forwarded, in {@link #prepareSnapshotPreBarrier} (so a checkpoint never holds buffered
 * events) and at the end of input. A flush reads each key's state once and writes it once; recently used
 * keys stay decoded on the heap between bundles and are written back on eviction, before every checkpoint
 * and at the end of input, so every snapshot is complete.
 *
 * <p>With event-time ordering, events wait in keyed state until the watermark passes them and are then
 * stepped in timestamp order; an event at or behind the watermark on arrival goes to the late side output.
 *
 * <p>An event model (a folder with {@code flink-mamba.json}) takes its input from an {@link EventExtractor}:
 * each event is scored by {@link EventModel#score} under the key's previous hidden, predicted from its own,
 * and its score updates the key's {@link AnomalyLikelihood}, whose state is kept with the key's state.
 *
 * <p>Built and applied by {@link MambaOperatorBuilder}.
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

    private transient MambaConfig config;
    private transient StateLayout layout;
    private transient long fingerprint;
    private transient MambaEngine engine;
    private transient StepBatch batch;
    private transient BundleStepper<K, IN, OUT> stepper;
    private transient ModelInput modelInput;
    private transient EventModel eventModel;
    private transient EventFields eventFields;
    private transient EventTimeHold<IN> hold;

    private transient BundleBuffer<K, IN> buffer;
    private transient KeyStateStore<K> store;
    /** Set when a flush failed: its keys' live states are lost, so nothing may be stepped until a restart. */
    private transient Exception failure;

    private transient OperatorMetrics metrics;

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
        Path dir = Path.of(settings.modelDir());
        MambaModel model;
        if (EventModel.isEventModel(dir)) {
            if (extractor == null) {
                throw new IllegalArgumentException(dir + " holds an event model (" + EventModel.FILE
                        + "): give the builder an eventExtractor instead of an inputEncoder");
            }
            eventModel = EventModel.load(dir);
            model = eventModel.backbone();
            fingerprint = eventModel.fingerprint();
            eventFields = new EventFields(eventModel.schema());
        } else {
            if (extractor != null) {
                throw new IllegalArgumentException(dir + " holds no event model (no " + EventModel.FILE
                        + "), but the builder was given an eventExtractor; use an inputEncoder");
            }
            model = ModelLoader.load(dir);
            fingerprint = ModelFingerprint.of(model);
        }
        config = model.config();
        layout = config.stateLayout();
        engine = createEngine(model);
        boolean tokens = config.hasLmHead();
        int capacity = settings.bundleSize();
        batch = engine.newBatch(capacity, tokens ? StepBatch.Input.TOKENS : StepBatch.Input.FEATURES, tokens);
        modelInput = new ModelInput(tokens, config.dModel());

        metrics = new OperatorMetrics(getMetricGroup());
        store = new KeyStateStore<>(getPartitionedState(KeyStateStore.descriptor(settings.stateTtl())), this, engine,
                capacity, settings, fingerprint, eventModel != null ? likelihood.stateSize() : -1,
                getKeyedStateBackend().isSafeToReuseKVState(), metrics);
        if (settings.eventTimeOrdering()) {
            hold = new EventTimeHold<>(getPartitionedState(EventTimeHold.descriptor(
                    inputType.createSerializer(getExecutionConfig().getSerializerConfig()))),
                    getInternalTimerService("mamba-release", VoidNamespaceSerializer.INSTANCE, this));
        }

        stepper = BundleStepper.forEngine(engine, batch, store, new Scorer(engine, batch, eventModel, likelihood),
                mapper, output, settings.sessionGap(), metrics);
        buffer = new BundleBuffer<>(capacity, settings.bundleBytes(), settings.maxBundleDelay(),
                tokens ? Integer.BYTES : (long) Float.BYTES * config.dModel(), getProcessingTimeService(), this::flush);
    }

    /** The configured engine; auto takes cuda where a device and the jar's kernels are present. */
    private MambaEngine createEngine(MambaModel model) {
        boolean cuda = settings.engine().equals("cuda")
                || (settings.engine().equals("auto") && CudaEngine.available());
        if (settings.engine().equals("auto")) {
            LOG.info("mamba.engine=auto: using the {} engine", cuda ? "cuda" : "cpu");
        }
        if (!cuda) {
            return new CpuEngine(model);
        }
        if (!CudaEngine.available()) {
            throw new IllegalStateException("mamba.engine=cuda, but this TaskManager has no CUDA device or driver, "
                    + "or the jar carries no kernels; use cpu or auto");
        }
        int device = cudaDevice();
        // The cache lives in the device's slot pool: the cached keys plus room for a bundle's new keys, which
        // join before the least recently used are evicted at the end of the bundle.
        int slots = settings.cacheSize() == 0 ? 0 : settings.cacheSize() + settings.bundleSize();
        long needed = CudaEngine.deviceBytes(model.config(), settings.bundleSize(), slots, StateCodec.FLOAT32);
        if (settings.cudaMemoryBudget() > 0 && needed > settings.cudaMemoryBudget()) {
            throw new IllegalArgumentException("mamba.cuda.memory-budget " + settings.cudaMemoryBudget()
                    + " bytes is too small: the model, a bundle of " + settings.bundleSize() + " events and "
                    + slots + " resident states need " + needed + " bytes on the device");
        }
        return new CudaEngine(model, device, StateCodec.FLOAT32, slots, settings.cudaMatmulPrecision());
    }

    /** The device Flink's external resource framework assigned ("gpu", property "index"), else the setting. */
    private int cudaDevice() {
        for (ExternalResourceInfo gpu : getRuntimeContext().getExternalResourceInfos("gpu")) {
            java.util.Optional<String> index = gpu.getProperty("index");
            if (index.isPresent()) {
                return Integer.parseInt(index.get().trim());
            }
        }
        return Math.max(0, settings.cudaDevice());
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
        String problem = encode(event);
        if (problem != null) {
            reject(event, eventTime, problem);
            return;
        }
        long arrival = getProcessingTimeService().getCurrentProcessingTime();
        long timestamp = eventTime != null ? eventTime : arrival;
        boolean tokens = modelInput.takesTokens();
        buffer.add(new BufferedEvent<>((K) getCurrentKey(), event, timestamp,
                settings.sessionGapEventTime() ? timestamp : arrival, tokens ? modelInput.token() : -1,
                tokens ? null : modelInput.features().clone(),
                eventModel == null ? null : eventFields.numeric().clone(), eventModel == null ? -1 : eventFields.category()));
    }

    private void reject(IN event, Long timestamp, String reason) {
        metrics.eventRejected();
        StreamRecord<Tuple2<IN, String>> rejected = new StreamRecord<>(Tuple2.of(event, reason));
        if (timestamp != null) {
            rejected.setTimestamp(timestamp);
        }
        output.collect(rejectedTag, rejected);
    }

    /** Encodes the event into {@link #modelInput}; returns why it cannot be used, or null. */
    private String encode(IN event) {
        modelInput.reset();
        if (eventModel != null) {
            eventFields.clear();
            try {
                extractor.extract(event, eventFields);
            } catch (Exception e) {
                return "event extractor failed: " + e;
            }
            String problem = eventFields.problem();
            if (problem != null) {
                return problem;
            }
            eventModel.encode(eventFields, modelInput.features());
        }
        try {
            if (encoder != null) {
                encoder.encode(event, modelInput);
            }
        } catch (Exception e) {
            return "input encoder failed: " + e;
        }
        if (modelInput.takesTokens()) {
            int token = modelInput.token();
            if (token < 0 || token >= config.vocabSize()) {
                return token < 0 ? "input encoder set no token id"
                        : "token id " + token + " is outside the vocabulary 0.." + (config.vocabSize() - 1);
            }
            return null;
        }
        float[] features = modelInput.features();
        for (int i = 0; i < features.length; i++) {
            if (!Float.isFinite(features[i])) {
                return "feature " + i + " is " + features[i];
            }
        }
        return null;
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
     * Steps every buffered event. A failure inside (a throwing output mapper, a failing downstream operator)
     * loses the live states of the keys in the bundle, so it is remembered and every later call fails too:
     * Flink fails a task asynchronously when a timer's flush throws, and until then no key may step from an
     * older state.
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
            stepBundle();
        } catch (Exception e) {
            failure = e;
            throw e;
        }
    }

    /**
     * Steps the buffered events, each key's in arrival order: in one engine call over all of them where
     * the engine steps sequences (so a hot key with many events in the bundle costs no extra calls), else
     * one call per depth, the keys ordered by their event count, most first, so that the keys with a t-th
     * event are always the first rows: each key keeps one batch row for the whole bundle, and its state is
     * copied in and out once.
     */
    private void stepBundle() throws Exception {
        BundleBuffer.Bundle<K, IN> bundle = buffer.drain();
        metrics.bundle(bundle.events());
        stepper.step(bundle, getProcessingTimeService().getCurrentProcessingTime());
        store.endBundle();
    }
}
