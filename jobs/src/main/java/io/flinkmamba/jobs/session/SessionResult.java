package io.flinkmamba.jobs.session;

/** One event's result on its way to the session-end tracker: key, event time, session start, JSON. A Flink POJO. */
public class SessionResult {
    public String key;
    public long timestamp;
    public boolean sessionStart;
    public String json;

    public SessionResult() {}

    SessionResult(String key, long timestamp, boolean sessionStart, String json) {
        this.key = key;
        this.timestamp = timestamp;
        this.sessionStart = sessionStart;
        this.json = json;
    }
}
