package io.flinkmamba.operator.internal;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.base.ListSerializer;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

import java.util.ArrayList;
import java.util.List;

/**
 * Event-time ordering: each key's events wait in keyed state (by timestamp, in arrival order) until the
 * watermark passes them, then are released in timestamp order through an event-time timer per key and
 * timestamp. Held events are part of every snapshot. An event at or behind the watermark on arrival is late
 * and is not held.
 */
@Internal
public final class EventTimeHold<IN> {

    /** What {@link #offer} did with an event. */
    public enum Arrival {
        HELD,
        /** At or behind the watermark: for the late side output. */
        LATE,
        /** Without a timestamp: cannot be ordered. */
        NO_TIMESTAMP
    }

    /** Takes the released events, one by one. */
    @FunctionalInterface
    public interface Release<IN> {
        void accept(IN event, long timestamp) throws Exception;
    }

    private final MapState<Long, List<IN>> held;
    private final InternalTimerService<VoidNamespace> releaseTimers;

    /** {@code held}: keyed state from {@link #descriptor}; {@code releaseTimers}: the timers that release it. */
    public EventTimeHold(MapState<Long, List<IN>> held, InternalTimerService<VoidNamespace> releaseTimers) {
        this.held = held;
        this.releaseTimers = releaseTimers;
    }

    /** The keyed state of held events: timestamp to the events at it, in arrival order. */
    public static <IN> MapStateDescriptor<Long, List<IN>> descriptor(TypeSerializer<IN> eventSerializer) {
        return new MapStateDescriptor<>("mamba-held-events", LongSerializer.INSTANCE,
                new ListSerializer<>(eventSerializer));
    }

    /** Holds the current key's event until the watermark passes it, unless it is late or has no timestamp. */
    public Arrival offer(StreamRecord<IN> record) throws Exception {
        if (!record.hasTimestamp()) {
            return Arrival.NO_TIMESTAMP;
        }
        if (record.getTimestamp() <= releaseTimers.currentWatermark()) {
            return Arrival.LATE;
        }
        long timestamp = record.getTimestamp();
        List<IN> atTime = held.get(timestamp);
        if (atTime == null) {
            atTime = new ArrayList<>(1);
            releaseTimers.registerEventTimeTimer(VoidNamespace.INSTANCE, timestamp);
        }
        atTime.add(record.getValue());
        held.put(timestamp, atTime);
        return Arrival.HELD;
    }

    /** The watermark passed {@code timestamp}: releases the current key's events held at it, in arrival order. */
    public void release(long timestamp, Release<IN> into) throws Exception {
        List<IN> events = held.get(timestamp);
        held.remove(timestamp);
        for (IN event : events) {
            into.accept(event, timestamp);
        }
    }
}
