package io.flinkmamba.operator;

import io.flinkmamba.engine.CpuEngine;
import io.flinkmamba.engine.MambaEngine;
import io.flinkmamba.engine.StepBatch;
import io.flinkmamba.engine.cuda.CudaEngine;
import io.flinkmamba.event.AnomalyLikelihood;
import io.flinkmamba.event.EventFields;
import io.flinkmamba.event.EventModel;
import io.flinkmamba.event.EventPrediction;
import io.flinkmamba.model.MambaConfig;
import io.flinkmamba.model.MambaModel;
import io.flinkmamba.model.ModelFingerprint;
import io.flinkmamba.model.ModelLoader;
import io.flinkmamba.operator.internal.BufferedEvent;
import io.flinkmamba.operator.internal.BundleBuffer;
import io.flinkmamba.operator.internal.EventTimeHold;
import io.flinkmamba.operator.internal.OperatorMetrics;
import io.flinkmamba.state.StateCodec;
import io.flinkmamba.state.StateLayout;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.externalresource.ExternalResourceInfo;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
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

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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

    private static final long NO_TIME = Long.MIN_VALUE;
    /** Device-resident states move to and from the host in groups of this many keys. */
    private static final int SLOT_MOVES = 64;
    /** Cached keys not stepped for this many bundles are written back (and stay cached). */
    private static final int IDLE_BUNDLES = 4;

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
    private transient float[] scoreHidden;
    private transient float[] scoreLogits;
    private transient ModelInput modelInput;
    private transient EventModel eventModel;
    private transient EventFields eventFields;
    private transient ValueState<StoredKeyState> keyState;
    /**
     * The array every write-back encodes into where the backend serializes a value as it is written
     * (RocksDB): no state-sized allocation per written key (155 KB for the benchmark's medium model). Null
     * where the backend keeps the object itself (heap): there each write gets its own array.
     */
    private transient byte[] reusedEncoding;
    /** The state codec's bytes per key, fixed by the layout. */
    private transient int encodedStateBytes;
    private transient EventTimeHold<IN> hold;

    private transient BundleBuffer<K, IN> buffer;
    private transient LinkedHashMap<K, LiveKey> cache;
    /** The CUDA engine when cached states live in its device slot pool (else null: they live on the heap). */
    private transient CudaEngine deviceStates;
    private transient int[] freeSlots;
    private transient int freeSlotCount;
    /** Host rows of states on their way to or from device slots {@code movingSlots}. */
    private transient float[] movingStates;
    private transient int[] movingSlots;
    private transient int moving;
    private transient boolean mismatchLogged;
    /** Bundles stepped so far. */
    private transient long bundles;
    /** Set when a flush failed: its keys' live states are lost, so nothing may be stepped until a restart. */
    private transient Exception failure;

    private transient OperatorMetrics metrics;

    /**
     * A key's decoded state while it is being stepped or cached: on the heap ({@code state}), or in device
     * slot {@code slot} when states are resident on the GPU (then {@code state} is empty).
     */
    private static final class LiveKey {
        /** Stepped in place by engines that step sequences; replaced when a session restarts mid-bundle. */
        float[] state;
        int slot = -1;
        /** Reset since its slot was last written: the slot must be zeroed before the next step. */
        boolean slotStale;
        float[] lastHidden;
        /** The anomaly likelihood state (event models), kept across session resets. */
        double[] likelihood;
        long eventsSeen;
        long lastEventTime = NO_TIME;
        long lastAccess;
        /** The number of the last bundle that stepped the key. */
        long lastBundle;
        boolean dirty;

        LiveKey(int floats) {
            this.state = new float[floats];
        }

        void reset() {
            java.util.Arrays.fill(state, 0f);
            slotStale = slot >= 0;
            lastHidden = null;
            eventsSeen = 0;
            lastEventTime = NO_TIME;
            dirty = true;
        }
    }

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
        scoreHidden = tokens ? new float[capacity * config.dModel()] : null;
        scoreLogits = tokens ? new float[capacity * config.vocabSize()] : null;
        modelInput = new ModelInput(tokens, config.dModel());

        ValueStateDescriptor<StoredKeyState> descriptor =
                new ValueStateDescriptor<>("mamba-state", StoredKeyStateSerializer.INSTANCE);
        if (!settings.stateTtl().isZero()) {
            descriptor.enableTimeToLive(StateTtlConfig.newBuilder(settings.stateTtl())
                    .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
                    .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
                    .cleanupInRocksdbCompactFilter(1000)
                    .build());
        }
        keyState = getPartitionedState(descriptor);
        encodedStateBytes = settings.stateCodec().encodedSize(layout);
        reusedEncoding = getKeyedStateBackend().isSafeToReuseKVState() ? new byte[encodedStateBytes] : null;
        if (settings.eventTimeOrdering()) {
            hold = new EventTimeHold<>(getPartitionedState(EventTimeHold.descriptor(
                    inputType.createSerializer(getExecutionConfig().getSerializerConfig()))),
                    getInternalTimerService("mamba-release", VoidNamespaceSerializer.INSTANCE, this));
        }

        buffer = new BundleBuffer<>(capacity, settings.bundleBytes(), settings.maxBundleDelay(),
                tokens ? Integer.BYTES : (long) Float.BYTES * config.dModel(), getProcessingTimeService(), this::flush);
        cache = new LinkedHashMap<>(16, 0.75f, true);
        if (engine instanceof CudaEngine cuda && cuda.residentSlots() > 0) {
            // A restored job starts with an empty pool: keys come back from keyed state as they arrive.
            deviceStates = cuda;
            freeSlotCount = cuda.residentSlots();
            freeSlots = new int[freeSlotCount];
            for (int i = 0; i < freeSlotCount; i++) {
                freeSlots[i] = freeSlotCount - 1 - i;
            }
            movingStates = new float[SLOT_MOVES * layout.floatsPerKey()];
            movingSlots = new int[SLOT_MOVES];
        }
        metrics = new OperatorMetrics(getMetricGroup());
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
        writeBackAll();
    }

    @Override
    public void endInput() throws Exception {
        flush();
        writeBackAll();
    }

    @Override
    public void finish() throws Exception {
        if (buffer != null) { // null when open() failed
            flush();
            writeBackAll();
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
        if (engine.stepsSequences()) {
            stepSequences(bundle.keys(), bundle.events());
        } else {
            stepByDepth(bundle.keys());
        }
        evictDownTo(settings.cacheSize());
        writeBackIdle();
        bundles++;
    }

    /**
     * The bundle in engine calls by depth: call t steps the t-th event of every key that has one, each key's
     * state in its batch row (or device slot) throughout.
     */
    private void stepByDepth(List<Map.Entry<K, List<BufferedEvent<K, IN>>>> rows) throws Exception {
        rows.sort((a, b) -> Integer.compare(b.getValue().size(), a.getValue().size()));
        int keys = rows.size();
        LiveKey[] live = new LiveKey[keys];
        long now = getProcessingTimeService().getCurrentProcessingTime();
        int floats = layout.floatsPerKey();
        int[] slots = deviceStates != null ? new int[keys] : null;
        for (int r = 0; r < keys; r++) {
            live[r] = load(rows.get(r).getKey(), now);
            if (slots != null) {
                slots[r] = live[r].slot;
            } else {
                System.arraycopy(live[r].state, 0, batch.states(), r * floats, floats);
            }
        }
        writeMovingSlots();
        long engineStart = System.nanoTime();
        boolean[] sessionStart = new boolean[keys];
        double[] scores = new double[keys];
        int active = keys;
        for (int t = 0; active > 0; t++) {
            while (active > 0 && rows.get(active - 1).getValue().size() <= t) {
                active--;
            }
            if (active == 0) {
                break;
            }
            for (int r = 0; r < active; r++) {
                prepareRow(r, live[r], rows.get(r).getValue().get(t), sessionStart);
            }
            batch.size(active);
            score(active, live, rows, t, scores);
            if (slots != null) {
                zeroStaleSlots(live, active);
                deviceStates.stepResident(batch, slots);
            } else {
                engine.step(batch);
            }
            for (int r = 0; r < active; r++) {
                emit(r, live[r], rows.get(r).getValue().get(t), sessionStart[r], scores[r], now);
            }
        }
        metrics.engineTimeSince(engineStart);
        for (int r = 0; r < keys; r++) {
            if (slots == null) {
                System.arraycopy(batch.states(), r * floats, live[r].state, 0, floats);
            }
            cache.put(rows.get(r).getKey(), live[r]);
        }
    }

    /**
     * All the bundle's events in one engine call: rows are events, grouped by key in arrival order; the engine
     * steps each key's cached state array in place (no copy in or out), and a session gap inside the bundle
     * moves the key's later events to a fresh, zero array.
     */
    private void stepSequences(List<Map.Entry<K, List<BufferedEvent<K, IN>>>> keys, int events) throws Exception {
        long now = getProcessingTimeService().getCurrentProcessingTime();
        int floats = layout.floatsPerKey();
        int d = config.dModel();
        LiveKey[] live = new LiveKey[keys.size()];
        float[][] stateOfRow = new float[events][];
        boolean[] sessionStart = new boolean[events];
        boolean[] firstOfKey = new boolean[events];
        int row = 0;
        for (int i = 0; i < keys.size(); i++) {
            LiveKey key = load(keys.get(i).getKey(), now);
            live[i] = key;
            float[] current = key.state;
            long lastTime = key.lastEventTime;
            long seen = key.eventsSeen;
            boolean first = true;
            for (BufferedEvent<K, IN> event : keys.get(i).getValue()) {
                if (!settings.sessionGap().isZero() && lastTime != NO_TIME
                        && event.sessionTime() - lastTime > settings.sessionGap().toMillis()) {
                    // The key's earlier events in this bundle still step the old array: the new session
                    // takes a fresh one.
                    if (first) {
                        java.util.Arrays.fill(current, 0f);
                    } else {
                        current = new float[floats];
                    }
                    seen = 0;
                    metrics.sessionGapReset();
                }
                sessionStart[row] = seen == 0;
                firstOfKey[row] = first;
                if (event.features() == null) {
                    batch.tokens()[row] = event.token();
                } else {
                    System.arraycopy(event.features(), 0, batch.features(), row * d, d);
                }
                stateOfRow[row++] = current;
                seen++;
                lastTime = event.sessionTime();
                first = false;
            }
        }
        long engineStart = System.nanoTime();
        batch.size(events);
        double[] scores = scoreSequences(live, keys, events, sessionStart);
        engine.stepSequences(batch, stateOfRow);
        if (scoreHidden != null) {
            scoreFromPreviousRows(events, sessionStart, firstOfKey, scores);
        }
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
            cache.put(keys.get(i).getKey(), key);
        }
    }

    /**
     * Scores of the events that are their key's first in the bundle, from the prediction stored with the key
     * (computed before the engine call overwrites the batch's logits); NaN elsewhere for now.
     */
    private double[] scoreSequences(LiveKey[] live, List<Map.Entry<K, List<BufferedEvent<K, IN>>>> keys, int events,
                                    boolean[] sessionStart) {
        double[] scores = new double[events];
        java.util.Arrays.fill(scores, Double.NaN);
        if (scoreHidden == null) {
            return scores;
        }
        int d = config.dModel();
        int scored = 0;
        int[] scoredRow = new int[keys.size()];
        int row = 0;
        for (int i = 0; i < keys.size(); i++) {
            if (!sessionStart[row] && live[i].lastHidden != null) {
                System.arraycopy(live[i].lastHidden, 0, scoreHidden, scored * d, d);
                scoredRow[scored++] = row;
            }
            row += keys.get(i).getValue().size();
        }
        if (scored > 0) {
            engine.logits(scoreHidden, scored, scoreLogits);
            for (int s = 0; s < scored; s++) {
                scores[scoredRow[s]] = negativeLogLikelihood(scoreLogits, s, batch.tokens()[scoredRow[s]]);
            }
        }
        return scores;
    }

    /** Scores of the later events of each key: the logits the engine produced for the key's previous row. */
    private void scoreFromPreviousRows(int events, boolean[] sessionStart, boolean[] firstOfKey, double[] scores) {
        for (int r = 0; r < events; r++) {
            if (!firstOfKey[r] && !sessionStart[r]) {
                scores[r] = negativeLogLikelihood(batch.logits(), r - 1, batch.tokens()[r]);
            }
        }
    }

    /** -log softmax(logits row {@code row})[token], in nats. */
    private double negativeLogLikelihood(float[] logits, int row, int token) {
        return MambaEngine.negativeLogLikelihood(logits, row, config.vocabSize(), token);
    }

    /** Puts the event in batch row {@code row} (which holds the key's state), starting a new session if due. */
    private void prepareRow(int row, LiveKey key, BufferedEvent<K, IN> event, boolean[] sessionStart) {
        boolean gap = !settings.sessionGap().isZero() && key.lastEventTime != NO_TIME
                && event.sessionTime() - key.lastEventTime > settings.sessionGap().toMillis();
        if (gap) {
            key.reset();
            if (deviceStates == null) {
                java.util.Arrays.fill(batch.states(), row * layout.floatsPerKey(), (row + 1) * layout.floatsPerKey(),
                        0f);
            }
            metrics.sessionGapReset();
        }
        sessionStart[row] = key.eventsSeen == 0;
        if (event.features() == null) {
            batch.tokens()[row] = event.token();
        } else {
            System.arraycopy(event.features(), 0, batch.features(), row * config.dModel(), config.dModel());
        }
    }

    /** scores[r]: the event's negative log-likelihood under the key's previous prediction (token models). */
    private void score(int rows, LiveKey[] live, List<Map.Entry<K, List<BufferedEvent<K, IN>>>> events, int t,
                       double[] scores) {
        java.util.Arrays.fill(scores, 0, rows, Double.NaN);
        if (scoreHidden == null) {
            return;
        }
        int d = config.dModel();
        int scored = 0;
        int[] scoredRow = new int[rows];
        for (int r = 0; r < rows; r++) {
            float[] previous = live[r].lastHidden;
            if (previous != null) {
                System.arraycopy(previous, 0, scoreHidden, scored * d, d);
                scoredRow[scored++] = r;
            }
        }
        if (scored == 0) {
            return;
        }
        engine.logits(scoreHidden, scored, scoreLogits);
        for (int s = 0; s < scored; s++) {
            int r = scoredRow[s];
            scores[r] = negativeLogLikelihood(scoreLogits, s, events.get(r).getValue().get(t).token());
        }
    }
    /** Records row {@code row}'s step in the key (its state stays in the row) and emits the event's result. */
    private void emit(int row, LiveKey key, BufferedEvent<K, IN> event, boolean sessionStart, double score, long now)
            throws Exception {
        int d = config.dModel();
        float[] hidden = java.util.Arrays.copyOfRange(batch.hidden(), row * d, (row + 1) * d);
        float[] logits = batch.hasLogits() ? java.util.Arrays.copyOfRange(batch.logits(), row * config.vocabSize(),
                (row + 1) * config.vocabSize()) : null;
        EventPrediction prediction = null;
        double eventLikelihood = Double.NaN;
        if (eventModel != null) {
            // key.lastHidden is still the previous event's hidden here (NaN score at a session's start).
            double improbability = Double.NaN;
            if (!sessionStart && key.lastHidden != null) {
                eventFields.clear();
                System.arraycopy(event.numeric(), 0, eventFields.numeric(), 0, event.numeric().length);
                eventFields.category(event.category());
                EventModel.Assessment assessment = eventModel.assess(key.lastHidden, eventFields);
                score = assessment.score();
                improbability = assessment.improbability();
            }
            if (key.likelihood == null) {
                key.likelihood = new double[likelihood.stateSize()];
            }
            eventLikelihood = likelihood.update(key.likelihood, score, improbability);
            prediction = eventModel.predict(hidden);
        }
        key.lastHidden = hidden;
        key.eventsSeen++;
        key.lastEventTime = event.sessionTime();
        key.lastAccess = now;
        key.lastBundle = bundles;
        key.dirty = true;
        OUT result = mapper.map(event.event(),
                new MambaOutput(hidden, logits, score, sessionStart, key.eventsSeen, event.timestamp(), prediction,
                        eventLikelihood));
        output.collect(new StreamRecord<>(result, event.timestamp()));
        metrics.eventOut();
    }

    /** The key's live state: from the cache, else decoded from keyed state, else fresh. */
    private LiveKey load(K key, long now) throws Exception {
        LiveKey cached = cache.remove(key);
        if (cached != null) {
            metrics.cacheHit();
            if (!settings.stateTtl().isZero() && now - cached.lastAccess > settings.stateTtl().toMillis()) {
                cached.reset();
                cached.likelihood = null;
                metrics.ttlReset();
            }
            return cached;
        }
        metrics.cacheMiss();
        setCurrentKey(key);
        StoredKeyState stored = keyState.value();
        LiveKey live = new LiveKey(deviceStates != null ? 0 : layout.floatsPerKey());
        live.lastAccess = now;
        float[] into = live.state;
        int at = 0;
        if (deviceStates != null) {
            // The key takes a free slot; its state (zeros unless decoded below) goes up with the next move.
            live.slot = freeSlots[--freeSlotCount];
            into = movingStates;
            at = queueSlotMove(live.slot);
        }
        if (stored == null) {
            return live;
        }
        if (stored.fingerprint() != fingerprint || stored.layoutVersion() != StateLayout.VERSION) {
            String why = "key " + key + " has a state written by model " + Long.toHexString(stored.fingerprint())
                    + " (state layout v" + stored.layoutVersion() + "), this operator runs model "
                    + Long.toHexString(fingerprint) + " (v" + StateLayout.VERSION + ")";
            if (settings.onModelMismatch() == ModelMismatchPolicy.FAIL) {
                throw new IllegalStateException(why + "; set mamba.state.on-model-mismatch=RESET to start such "
                        + "keys afresh");
            }
            if (!mismatchLogged) {
                mismatchLogged = true;
                LOG.warn("{}; resetting such keys (counted in stateResetsModelMismatch)", why);
            }
            metrics.modelMismatchReset();
            live.dirty = true;
            return live;
        }
        StateCodec.fromId(stored.codecId()).decode(layout, ByteBuffer.wrap(stored.encodedState()), into, at);
        metrics.stateRead(stored.encodedState().length);
        live.lastHidden = stored.lastHidden().length == 0 ? null : stored.lastHidden();
        live.likelihood = eventModel != null && stored.likelihood().length == likelihood.stateSize()
                ? stored.likelihood() : null;
        live.eventsSeen = stored.eventsSeen();
        live.lastEventTime = stored.lastEventTime();
        return live;
    }

    private void evictDownTo(int size) throws Exception {
        Iterator<Map.Entry<K, LiveKey>> it = cache.entrySet().iterator();
        List<Map.Entry<K, LiveKey>> evicted = new ArrayList<>();
        while (cache.size() - evicted.size() > size && it.hasNext()) {
            evicted.add(it.next());
        }
        writeBack(evicted);
        for (Map.Entry<K, LiveKey> e : evicted) {
            if (e.getValue().slot >= 0) {
                freeSlots[freeSlotCount++] = e.getValue().slot;
            }
            cache.remove(e.getKey());
        }
    }

    /**
     * Writes back the changed cached keys that the last {@value #IDLE_BUNDLES} bundles did not step, keeping
     * them cached. Spreads the write-back over the stream: RocksDB flushes its memtables in the background
     * while the next bundles step, where writing every cached key at a checkpoint or at the end of input
     * stalls on full memtables (measured: 120 puts of 7135 waited 3.2 s). A key stepped again later is
     * written again, so a short idle time writes more (simulated on the benchmark's Zipf(1.1) keys:
     * 1.55x the writes after 1 idle bundle, 1.26x after 4).
     */
    private void writeBackIdle() throws Exception {
        List<Map.Entry<K, LiveKey>> idle = new ArrayList<>();
        for (Map.Entry<K, LiveKey> e : cache.entrySet()) { // least recently stepped first
            if (e.getValue().lastBundle > bundles - IDLE_BUNDLES) {
                break;
            }
            if (e.getValue().dirty) {
                idle.add(e);
            }
        }
        writeBack(idle);
    }

    /** Writes every changed cached key to keyed state, keeping it cached. */
    private void writeBackAll() throws Exception {
        writeBack(new ArrayList<>(cache.entrySet()));
    }

    /** Writes the changed keys among {@code keys} to keyed state; device-resident states come back in groups. */
    private void writeBack(List<Map.Entry<K, LiveKey>> keys) throws Exception {
        if (deviceStates == null) {
            for (Map.Entry<K, LiveKey> e : keys) {
                writeBack(e.getKey(), e.getValue(), e.getValue().state, 0);
            }
            return;
        }
        List<Map.Entry<K, LiveKey>> dirty = keys.stream().filter(e -> e.getValue().dirty).toList();
        int floats = layout.floatsPerKey();
        for (int start = 0; start < dirty.size(); start += SLOT_MOVES) {
            int n = Math.min(SLOT_MOVES, dirty.size() - start);
            for (int i = 0; i < n; i++) {
                movingSlots[i] = dirty.get(start + i).getValue().slot;
            }
            deviceStates.readSlots(movingSlots, n, movingStates);
            for (int i = 0; i < n; i++) {
                LiveKey live = dirty.get(start + i).getValue();
                if (live.slotStale) { // reset and not stepped since: its state is zeros, not the slot's
                    java.util.Arrays.fill(movingStates, i * floats, (i + 1) * floats, 0f);
                }
                writeBack(dirty.get(start + i).getKey(), live, movingStates, i * floats);
            }
        }
    }

    private void writeBack(K key, LiveKey live, float[] state, int offset) throws Exception {
        if (!live.dirty) {
            return;
        }
        // Encoded straight into the array that keyed state takes: every codec's size is fixed by the layout.
        byte[] encoded = reusedEncoding != null ? reusedEncoding : new byte[encodedStateBytes];
        settings.stateCodec().encode(layout, state, offset, ByteBuffer.wrap(encoded));
        setCurrentKey(key);
        keyState.update(new StoredKeyState(StateLayout.VERSION, fingerprint, settings.stateCodec().id(),
                live.eventsSeen, live.lastEventTime, live.lastHidden == null ? new float[0] : live.lastHidden,
                encoded, live.likelihood == null ? new double[0] : live.likelihood));
        metrics.stateWritten(encoded.length);
        live.dirty = false;
    }

    /** Queues a zero state row for device slot {@code slot}, moving the queue up when full; returns its offset. */
    private int queueSlotMove(int slot) {
        if (moving == SLOT_MOVES) {
            writeMovingSlots();
        }
        int floats = layout.floatsPerKey();
        java.util.Arrays.fill(movingStates, moving * floats, (moving + 1) * floats, 0f);
        movingSlots[moving] = slot;
        return moving++ * floats;
    }

    /** Writes the queued state rows into their device slots. */
    private void writeMovingSlots() {
        if (deviceStates != null && moving > 0) {
            deviceStates.writeSlots(movingSlots, moving, movingStates);
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
