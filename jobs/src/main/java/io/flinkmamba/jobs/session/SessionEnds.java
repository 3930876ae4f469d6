package io.flinkmamba.jobs.session;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flinkmamba.jobs.common.OutputRecord;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Passes each event's result on and emits a {@code session_end} record once the watermark shows a key has had
 * no event for the session gap (an event-time timer at last event + gap + 1 ms, moved by every event).
 */
final class SessionEnds extends KeyedProcessFunction<String, SessionResult, OutputRecord> {
    private final long gapMillis;
    private transient ValueState<Long> lastEvent;
    private transient ValueState<Long> sessionEvents;
    private transient ObjectMapper json;

    SessionEnds(long gapMillis) {
        this.gapMillis = gapMillis;
    }

    @Override
    public void open(OpenContext context) {
        lastEvent = getRuntimeContext().getState(new ValueStateDescriptor<>("last-event", Types.LONG));
        sessionEvents = getRuntimeContext().getState(new ValueStateDescriptor<>("session-events", Types.LONG));
        json = new ObjectMapper();
    }

    @Override
    public void processElement(SessionResult result, Context context, Collector<OutputRecord> out) throws Exception {
        Long last = lastEvent.value();
        if (last != null) {
            context.timerService().deleteEventTimeTimer(last + gapMillis + 1);
            if (result.sessionStart) {
                // The operator releases events as the watermark passes them, before the watermark itself reaches
                // this function: the previous session's end timer would fire only after this event.
                out.collect(sessionEnd(result.key, last));
                last = null;
            }
        }
        long count = result.sessionStart || sessionEvents.value() == null ? 1 : sessionEvents.value() + 1;
        long newest = last == null ? result.timestamp : Math.max(last, result.timestamp);
        lastEvent.update(newest);
        sessionEvents.update(count);
        context.timerService().registerEventTimeTimer(newest + gapMillis + 1);
        out.collect(new OutputRecord(result.key, result.json, result.timestamp));
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext context, Collector<OutputRecord> out) throws Exception {
        Long last = lastEvent.value();
        if (last == null || last + gapMillis + 1 != timestamp) {
            return;
        }
        out.collect(sessionEnd(context.getCurrentKey(), last));
        lastEvent.clear();
        sessionEvents.clear();
    }

    private OutputRecord sessionEnd(String key, long last) throws java.io.IOException {
        ObjectNode end = json.createObjectNode();
        end.put("type", "session_end");
        end.put("key", key);
        end.put("timestamp", last + gapMillis);
        end.put("last_event_timestamp", last);
        end.put("session_events", sessionEvents.value());
        return new OutputRecord(key, end.toString(), last + gapMillis);
    }
}
