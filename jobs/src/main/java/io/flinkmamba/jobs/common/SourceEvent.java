package io.flinkmamba.jobs.common;

/**
 * A parsed input event: its key, event time, values, and its source position and bytes (kept so that a late or
 * rejected event still becomes a complete dead letter). A Flink POJO.
 */
public class SourceEvent {
    public String key;
    public long timestamp;
    /** The mapping's numeric fields, in its order, raw units. */
    public double[] numeric;
    /** The categorical field's value, or null without one. */
    public String category;
    /** The category's index in the vocabulary; -1 without one. */
    public int categoryIndex = -1;
    public String topic;
    public int partition;
    public long offset;
    public long kafkaTimestamp;
    public byte[] rawKey;
    public byte[] rawValue;

    public SourceEvent() {}
}
