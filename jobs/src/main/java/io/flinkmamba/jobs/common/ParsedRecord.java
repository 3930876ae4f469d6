package io.flinkmamba.jobs.common;

/** What the source emits for each Kafka record: the parsed event, or the dead letter saying why there is none. */
public class ParsedRecord {
    public SourceEvent event;
    public DeadLetter deadLetter;

    public ParsedRecord() {}

    ParsedRecord(SourceEvent event, DeadLetter deadLetter) {
        this.event = event;
        this.deadLetter = deadLetter;
    }
}
