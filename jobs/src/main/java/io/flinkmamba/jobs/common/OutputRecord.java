package io.flinkmamba.jobs.common;

/** One record for an output topic: key, JSON value and timestamp (the event time). A Flink POJO. */
public class OutputRecord {
    public String key;
    public String value;
    public long timestamp;

    public OutputRecord() {}

    public OutputRecord(String key, String value, long timestamp) {
        this.key = key;
        this.value = value;
        this.timestamp = timestamp;
    }
}
