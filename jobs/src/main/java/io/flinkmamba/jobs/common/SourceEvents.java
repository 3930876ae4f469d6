package io.flinkmamba.jobs.common;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** The identity fields every result carries: key, event time and source position. */
public final class SourceEvents {
    private SourceEvents() {}

    public static void putIdentity(ObjectNode node, SourceEvent event) {
        node.put("key", event.key);
        node.put("timestamp", event.timestamp);
        node.put("topic", event.topic);
        node.put("partition", event.partition);
        node.put("offset", event.offset);
    }

    /** A double as JSON: null when NaN or infinite (JSON has no such numbers). */
    public static void putNumber(ObjectNode node, String field, double value) {
        if (Double.isFinite(value)) {
            node.put(field, value);
        } else {
            node.putNull(field);
        }
    }
}
