package io.flinkmamba.operator.internal;

import io.flinkmamba.engine.MambaEngine;
import io.flinkmamba.operator.MambaOperatorSettings;
import io.flinkmamba.operator.ModelMismatchPolicy;
import io.flinkmamba.operator.StoredKeyState;
import io.flinkmamba.operator.StoredKeyStateSerializer;
import io.flinkmamba.state.StateCodec;
import io.flinkmamba.state.StateLayout;
import org.apache.flink.annotation.Internal;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.streaming.api.operators.KeyContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every key's state: in Flink keyed state ({@link StoredKeyState}, the source of truth in every snapshot),
 * and decoded for the recently used keys, which stay in a cache between bundles, their recurrent states in
 * {@link StateSlots} (the engine's resident slots where it has them, else the heap). A key is read from
 * keyed state once when it joins the cache and written once per change: when it is evicted, after it has
 * been idle for {@value #IDLE_BUNDLES} bundles, and before every checkpoint and at the end of input (then
 * every snapshot is complete). Also applies the state TTL to cached keys and the model-mismatch policy to
 * stored ones.
 */
@Internal
public final class KeyStateStore<K> {
    private static final Logger LOG = LoggerFactory.getLogger(KeyStateStore.class);
    /** Cached keys not stepped for this many bundles are written back (and stay cached). */
    private static final int IDLE_BUNDLES = 4;

    private final ValueState<StoredKeyState> keyState;
    private final KeyContext keyContext;
    private final StateSlots slots;
    private final MambaOperatorSettings settings;
    private final StateLayout layout;
    private final long fingerprint;
    /** The likelihood state's size where the model keeps one (event models), else negative. */
    private final int likelihoodStateSize;
    private final OperatorMetrics metrics;
    /**
     * The array every write-back encodes into where the backend serializes a value as it is written
     * (RocksDB): no state-sized allocation per written key (155 KB for the benchmark's medium model). Null
     * where the backend keeps the object itself (heap): there each write gets its own array.
     */
    private final byte[] reusedEncoding;
    /** The state codec's bytes per key, fixed by the layout. */
    private final int encodedStateBytes;
    /** Least recently used first. */
    private final LinkedHashMap<K, LiveKey> cache = new LinkedHashMap<>(16, 0.75f, true);
    private boolean mismatchLogged;
    /** Bundles ended so far. */
    private long bundles;

    /** The keyed state of every key's {@link StoredKeyState}, expiring after {@code ttl} (zero: never). */
    public static ValueStateDescriptor<StoredKeyState> descriptor(Duration ttl) {
        ValueStateDescriptor<StoredKeyState> descriptor =
                new ValueStateDescriptor<>("mamba-state", StoredKeyStateSerializer.INSTANCE);
        if (!ttl.isZero()) {
            descriptor.enableTimeToLive(StateTtlConfig.newBuilder(ttl)
                    .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
                    .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
                    .cleanupInRocksdbCompactFilter(1000)
                    .build());
        }
        return descriptor;
    }

    /**
     * @param keyState            the state of {@link #descriptor}
     * @param keyContext          sets the key that {@code keyState} reads and writes
     * @param engine              its resident slots, where it has them, hold the cached states
     * @param batchCapacity       the most keys one bundle steps
     * @param likelihoodStateSize the anomaly likelihood's state size (event models), negative for none
     * @param reuseEncoding       whether the backend serializes a value as it is written, so one array can
     *                            take every encoding
     */
    public KeyStateStore(ValueState<StoredKeyState> keyState, KeyContext keyContext, MambaEngine engine,
                         int batchCapacity, MambaOperatorSettings settings, long fingerprint, int likelihoodStateSize,
                         boolean reuseEncoding, OperatorMetrics metrics) {
        this.keyState = keyState;
        this.keyContext = keyContext;
        this.settings = settings;
        this.layout = engine.stateLayout();
        this.fingerprint = fingerprint;
        this.likelihoodStateSize = likelihoodStateSize;
        this.metrics = metrics;
        this.slots = engine.resident()
                .<StateSlots>map(pool -> new DeviceStateSlots(pool, layout, batchCapacity))
                .orElseGet(() -> new HeapStateSlots(engine, layout));
        this.encodedStateBytes = settings.stateCodec().encodedSize(layout);
        this.reusedEncoding = reuseEncoding ? new byte[encodedStateBytes] : null;
    }

    StateSlots slots() {
        return slots;
    }

    /** The number of the bundle being stepped (for {@link LiveKey#lastBundle}). */
    long bundle() {
        return bundles;
    }

    /**
     * The key's live state, taken out of the cache until {@link #put} returns it: from the cache, else
     * decoded from keyed state, else fresh.
     */
    LiveKey load(K key, long now) throws Exception {
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
        keyContext.setCurrentKey(key);
        StoredKeyState stored = keyState.value();
        LiveKey live = new LiveKey();
        live.lastAccess = now;
        StateSlots.Row into = slots.attach(live);
        if (stored == null) {
            return live;
        }
        if (stored.fingerprint() != fingerprint || stored.layoutVersion() != StateLayout.VERSION) {
            String why = "key " + key + " has a state written by model " + Long.toHexString(stored.fingerprint())
                    + " (state layout v" + stored.layoutVersion() + "), this operator runs model "
                    + Long.toHexString(fingerprint) + " (v" + StateLayout.VERSION + ")";
            if (settings.onModelMismatch() == ModelMismatchPolicy.FAIL) {
                // Deterministic: a restart would fail the same way, so the job fails once.
                throw new SuppressRestartsException(new IllegalStateException(
                        why + "; set mamba.state.on-model-mismatch=RESET to start such keys afresh"));
            }
            if (!mismatchLogged) {
                mismatchLogged = true;
                LOG.warn("{}; resetting such keys (counted in stateResetsModelMismatch)", why);
            }
            metrics.modelMismatchReset();
            live.dirty = true;
            return live;
        }
        StateCodec.fromId(stored.codecId()).decode(layout, ByteBuffer.wrap(stored.encodedState()), into.states(),
                into.offset());
        metrics.stateRead(stored.encodedState().length);
        live.lastHidden = stored.lastHidden().length == 0 ? null : stored.lastHidden();
        live.likelihood = likelihoodStateSize >= 0 && stored.likelihood().length == likelihoodStateSize
                ? stored.likelihood() : null;
        live.eventsSeen = stored.eventsSeen();
        live.lastEventTime = stored.lastEventTime();
        return live;
    }

    /** Returns a stepped key to the cache, as its most recently used. */
    void put(K key, LiveKey live) {
        cache.put(key, live);
    }

    /** After a bundle: evicts down to the cache size, writes back the idle keys and counts the bundle. */
    public void endBundle() throws Exception {
        evictDownTo(settings.cacheSize());
        writeBackIdle();
        bundles++;
    }

    /** Writes every changed cached key to keyed state, keeping it cached. */
    public void writeBackAll() throws Exception {
        slots.readBack(new ArrayList<>(cache.entrySet()), this::writeBack);
    }

    private void evictDownTo(int size) throws Exception {
        Iterator<Map.Entry<K, LiveKey>> it = cache.entrySet().iterator();
        List<Map.Entry<K, LiveKey>> evicted = new ArrayList<>();
        while (cache.size() - evicted.size() > size && it.hasNext()) {
            evicted.add(it.next());
        }
        slots.readBack(evicted, this::writeBack);
        for (Map.Entry<K, LiveKey> e : evicted) {
            slots.detach(e.getValue());
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
        slots.readBack(idle, this::writeBack);
    }

    private void writeBack(K key, LiveKey live, float[] state, int offset) throws Exception {
        if (!live.dirty) {
            return;
        }
        // Encoded straight into the array that keyed state takes: every codec's size is fixed by the layout.
        byte[] encoded = reusedEncoding != null ? reusedEncoding : new byte[encodedStateBytes];
        settings.stateCodec().encode(layout, state, offset, ByteBuffer.wrap(encoded));
        keyContext.setCurrentKey(key);
        keyState.update(new StoredKeyState(StateLayout.VERSION, fingerprint, settings.stateCodec().id(),
                live.eventsSeen, live.lastEventTime, live.lastHidden == null ? new float[0] : live.lastHidden,
                encoded, live.likelihood == null ? new double[0] : live.likelihood));
        metrics.stateWritten(encoded.length);
        live.dirty = false;
    }
}
