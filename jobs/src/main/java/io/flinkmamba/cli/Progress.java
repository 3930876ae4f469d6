package io.flinkmamba.cli;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;

import java.io.PrintStream;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * A running job's progress as the records it has written to its output and dead-letter topics (their end
 * offsets, which count records as soon as they are written, committed or not): on a terminal one line
 * rewritten in place twice a second, otherwise a plain line every {@code plainEvery}.
 */
final class Progress implements AutoCloseable {
    private final Admin admin;
    private final List<String> topics;
    private final Map<String, Long> startOffsets;
    private final PrintStream out;
    private final boolean terminal;
    private final long plainEveryNanos;
    private final long started = System.nanoTime();
    private long lastPrinted = System.nanoTime();

    Progress(Properties kafka, List<String> topics, PrintStream out, boolean terminal, java.time.Duration plainEvery) {
        this.admin = Admin.create(kafka);
        this.topics = topics;
        this.out = out;
        this.terminal = terminal;
        this.plainEveryNanos = plainEvery.toNanos();
        this.startOffsets = endOffsets();
    }

    /** How often the caller should call {@link #tick()}. */
    long tickMillis() {
        return terminal ? 500 : Math.min(1000, plainEveryNanos / 1_000_000);
    }

    /** Prints when due. */
    void tick() {
        long now = System.nanoTime();
        if (terminal || now - lastPrinted >= plainEveryNanos) {
            lastPrinted = now;
            print(false);
        }
    }

    /** The final line. */
    void done() {
        print(true);
    }

    private void print(boolean last) {
        Map<String, Long> ends = endOffsets();
        long[] written = new long[topics.size()];
        long total = 0;
        for (int i = 0; i < topics.size(); i++) {
            written[i] = ends.getOrDefault(topics.get(i), 0L) - startOffsets.getOrDefault(topics.get(i), 0L);
            total += written[i];
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        String line = String.format(Locale.ROOT, "records %,d (results %,d, dead letters %,d)  %,.0f records/s  elapsed %s",
                total, written[0], written.length > 1 ? written[1] : 0, total / Math.max(seconds, 1e-3), elapsed(seconds));
        if (terminal) {
            out.print("\r" + line + (last ? System.lineSeparator() : ""));
        } else {
            out.println(line);
        }
        out.flush();
    }

    private static String elapsed(double seconds) {
        long s = (long) seconds;
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    }

    private Map<String, Long> endOffsets() {
        Map<String, Long> sums = new HashMap<>();
        try {
            Map<String, TopicDescription> described = admin.describeTopics(topics).allTopicNames().get(10, TimeUnit.SECONDS);
            Map<TopicPartition, OffsetSpec> request = new HashMap<>();
            described.forEach((topic, description) -> description.partitions()
                    .forEach(p -> request.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest())));
            admin.listOffsets(request).all().get(10, TimeUnit.SECONDS)
                    .forEach((tp, info) -> sums.merge(tp.topic(), info.offset(), Long::sum));
        } catch (Exception e) {
            // Progress is informational: a slow or unreachable broker shows as no progress, not as an error.
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
        }
        return sums;
    }

    @Override
    public void close() {
        admin.close(java.time.Duration.ofSeconds(5));
    }
}
