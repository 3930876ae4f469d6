package io.flinkmamba.cli;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.function.LongSupplier;

/**
 * A running job's progress: the records it has committed to its output and dead-letter topics, counted by a
 * read_committed consumer that reads them from their end at the start (with exactly-once delivery they count
 * at each checkpoint: a record of a transaction that a failure aborts is never counted), and the job's
 * restarts. On a terminal one line rewritten in place twice a second, otherwise a plain line every
 * {@code plainEvery}.
 */
final class Progress implements AutoCloseable {
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final String resultsTopic;
    private final PrintStream out;
    private final boolean terminal;
    private final long plainEveryNanos;
    private final long started = System.nanoTime();
    private long lastPrinted = System.nanoTime();
    private long results;
    private long deadLetters;
    private LongSupplier restarts;

    Progress(Properties kafka, String resultsTopic, String deadLetterTopic, PrintStream out, boolean terminal,
             Duration plainEvery) {
        Properties props = new Properties();
        props.putAll(kafka);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.remove(ConsumerConfig.GROUP_ID_CONFIG);
        this.consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        this.resultsTopic = resultsTopic;
        this.out = out;
        this.terminal = terminal;
        this.plainEveryNanos = plainEvery.toNanos();
        List<TopicPartition> partitions = new ArrayList<>();
        for (String topic : List.of(resultsTopic, deadLetterTopic)) {
            consumer.partitionsFor(topic, Duration.ofSeconds(30))
                    .forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
        }
        consumer.assign(partitions);
        consumer.seekToEnd(partitions);
        partitions.forEach(consumer::position);
    }

    /** Where the line's restart count comes from (-1 while unknown, shown as "?"); without one, none is shown. */
    void restarts(LongSupplier source) {
        this.restarts = source;
    }

    /** Counts what arrives for a while (half a second on a terminal, else a second) and prints when due. */
    void tick() {
        count(Duration.ofMillis(terminal ? 500 : 1000));
        long now = System.nanoTime();
        if (terminal || now - lastPrinted >= plainEveryNanos) {
            lastPrinted = now;
            print(false);
        }
    }

    /** The final line. */
    void done() {
        count(Duration.ofMillis(500));
        print(true);
    }

    private void count(Duration wait) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(wait)) {
            if (record.topic().equals(resultsTopic)) {
                results++;
            } else {
                deadLetters++;
            }
        }
    }

    private void print(boolean last) {
        double seconds = (System.nanoTime() - started) / 1e9;
        String restartCount = "";
        if (restarts != null) {
            long count = restarts.getAsLong();
            restartCount = "  restarts " + (count < 0 ? "?" : String.valueOf(count));
        }
        String line = String.format(Locale.ROOT, "records %,d (results %,d, dead letters %,d)  %,.0f records/s%s  elapsed %s",
                results + deadLetters, results, deadLetters, (results + deadLetters) / Math.max(seconds, 1e-3),
                restartCount, elapsed(seconds));
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

    @Override
    public void close() {
        consumer.close();
    }
}
