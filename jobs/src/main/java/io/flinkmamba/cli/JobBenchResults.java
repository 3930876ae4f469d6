package io.flinkmamba.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A job's results as a read_committed consumer saw them: each result's identity (key and event time, which
 * identify its input), input position and the time it became visible. {@link #check} says whether every
 * input event has exactly one result; {@link #latencies} how long each took from being sent to being visible.
 * Records of another type than an event's result (the session job's {@code session_end}) are only counted.
 */
final class JobBenchResults {
    /** Whether the results match the input, one each. */
    record Check(long expected, long results, long duplicates, long missing, long unexpected, long otherRecords,
                 double meanResultBytes) {
        boolean ok() {
            return results == expected && duplicates == 0 && missing == 0 && unexpected == 0;
        }

        String problems() {
            return String.format(java.util.Locale.ROOT, "%d results for %d events: %d duplicates, %d missing,"
                    + " %d not of an input event", results, expected, duplicates, missing, unexpected);
        }
    }

    /**
     * Latency quantiles in ms over the {@code measured} of {@code total} events sent in the steady window:
     * after the first result was visible and before the window's end (all events, if none was sent in it).
     */
    record Latency(long measured, long total, long p50Millis, long p99Millis, long maxMillis) {}

    /** Where an input was sent, for the latencies. */
    interface SendTimes {
        /** Epoch ms when the input record at this position was sent, or null if unknown. */
        Long sentMillis(int partition, long offset);
    }

    private final ObjectMapper json = new ObjectMapper();
    private final Set<String> seen = new HashSet<>();
    private long results;
    private long duplicates;
    private long otherRecords;
    private long resultBytes;
    private int[] partitions = new int[1024];
    private long[] offsets = new long[1024];
    private long[] visibleMillis = new long[1024];

    /** Takes one output record that became visible at {@code visibleAt} (epoch ms). */
    synchronized void add(String value, long visibleAt) throws IOException {
        JsonNode node = json.readTree(value);
        JsonNode type = node.get("type");
        if (type != null && !type.asText().equals("event")) {
            otherRecords++;
            return;
        }
        if (!seen.add(JobBenchInput.identity(node.path("key").asText(), node.path("timestamp").asLong()))) {
            duplicates++;
        }
        if (results == offsets.length) {
            int size = 2 * offsets.length;
            partitions = Arrays.copyOf(partitions, size);
            offsets = Arrays.copyOf(offsets, size);
            visibleMillis = Arrays.copyOf(visibleMillis, size);
        }
        int at = (int) results++;
        partitions[at] = node.path("partition").asInt();
        offsets[at] = node.path("offset").asLong();
        visibleMillis[at] = visibleAt;
        resultBytes += value.length();
    }

    synchronized long results() {
        return results;
    }

    synchronized Check check(Set<String> expected) {
        long missing = 0;
        for (String identity : expected) {
            if (!seen.contains(identity)) {
                missing++;
            }
        }
        long unexpected = seen.size() - (expected.size() - missing);
        return new Check(expected.size(), results, duplicates, missing, unexpected, otherRecords,
                results == 0 ? 0 : (double) resultBytes / results);
    }

    /**
     * Sent-to-visible latency of each result whose input was sent after the first result was visible and
     * before {@code steadyUntil} (epoch ms; the input's last moments may be released by a drain instead).
     */
    synchronized Latency latencies(SendTimes input, long steadyUntil) {
        long firstVisible = Long.MAX_VALUE;
        for (int i = 0; i < results; i++) {
            firstVisible = Math.min(firstVisible, visibleMillis[i]);
        }
        Histogram steady = new Histogram(TimeUnit.HOURS.toMillis(1), 3);
        Histogram all = new Histogram(TimeUnit.HOURS.toMillis(1), 3);
        for (int i = 0; i < results; i++) {
            Long sent = input.sentMillis(partitions[i], offsets[i]);
            if (sent == null) {
                continue;
            }
            long millis = Math.min(all.getHighestTrackableValue(), Math.max(0, visibleMillis[i] - sent));
            all.recordValue(millis);
            if (sent >= firstVisible && sent < steadyUntil) {
                steady.recordValue(millis);
            }
        }
        Histogram used = steady.getTotalCount() > 0 ? steady : all;
        return new Latency(used.getTotalCount(), all.getTotalCount(), used.getValueAtPercentile(50),
                used.getValueAtPercentile(99), used.getMaxValue());
    }
}
