package io.flinkmamba.operator.internal;

import org.apache.flink.annotation.Internal;
import org.apache.flink.streaming.runtime.tasks.ProcessingTimeService;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The bundle: events buffered across keys until they are stepped together, and its trigger. A bundle is
 * full at {@code maxEvents} events or {@code maxBytes} bytes of model input, and is due {@code maxDelay}
 * (processing time) after the event that found it empty with no flush timer armed; then the
 * {@link Flush} runs. The operator also flushes on its own (watermarks, checkpoints, end of input).
 */
@Internal
public final class BundleBuffer<K, IN> {

    /** Steps everything buffered (through {@link #drain}). */
    @FunctionalInterface
    public interface Flush {
        void run() throws Exception;
    }

    /**
     * A drained bundle: each key's events in arrival order, the keys in the order they first arrived.
     *
     * @param keys   one entry per key
     * @param events the number of events over all keys
     */
    public record Bundle<K, IN>(List<Map.Entry<K, List<BufferedEvent<K, IN>>>> keys, int events) {}

    private final int maxEvents;
    private final long maxBytes;
    private final long maxDelayMillis;
    private final long bytesPerEvent;
    private final ProcessingTimeService time;
    private final Flush flush;
    private final List<BufferedEvent<K, IN>> events;
    private long bytes;
    private boolean flushTimerSet;

    /** {@code bytesPerEvent}: the model input bytes of one event (fixed by the model). */
    public BundleBuffer(int maxEvents, long maxBytes, Duration maxDelay, long bytesPerEvent, ProcessingTimeService time,
                        Flush flush) {
        this.maxEvents = maxEvents;
        this.maxBytes = maxBytes;
        this.maxDelayMillis = maxDelay.toMillis();
        this.bytesPerEvent = bytesPerEvent;
        this.time = time;
        this.flush = flush;
        this.events = new ArrayList<>(maxEvents);
    }

    /** Buffers the event; flushes when the bundle is full, else makes sure a flush is due within the delay. */
    public void add(BufferedEvent<K, IN> event) throws Exception {
        events.add(event);
        bytes += bytesPerEvent;
        if (events.size() >= maxEvents || bytes >= maxBytes) {
            flush.run();
        } else if (!flushTimerSet) {
            flushTimerSet = true;
            long now = time.getCurrentProcessingTime();
            time.registerTimer(now + maxDelayMillis, firedAt -> {
                flushTimerSet = false;
                flush.run();
            });
        }
    }

    public boolean isEmpty() {
        return events.isEmpty();
    }

    /** The buffered events grouped by key; the buffer is empty afterwards. */
    public Bundle<K, IN> drain() {
        Map<K, List<BufferedEvent<K, IN>>> byKey = new LinkedHashMap<>();
        for (BufferedEvent<K, IN> event : events) {
            byKey.computeIfAbsent(event.key(), k -> new ArrayList<>()).add(event);
        }
        Bundle<K, IN> bundle = new Bundle<>(new ArrayList<>(byKey.entrySet()), events.size());
        events.clear();
        bytes = 0;
        return bundle;
    }
}
