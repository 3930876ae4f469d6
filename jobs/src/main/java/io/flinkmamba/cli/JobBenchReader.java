package io.flinkmamba.cli;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A read_committed consumer of one output topic, from its start, on a thread of its own, feeding a
 * {@link JobBenchResults}: a record's visible time is when the poll that returned it came back. It also notes
 * when it last stood at the topic's end (the last stable offset, so every committed transaction before it).
 */
final class JobBenchReader implements AutoCloseable {
    private final KafkaConsumer<String, String> consumer;
    private final List<TopicPartition> partitions;
    private final JobBenchResults results;
    private final Thread thread;
    private final AtomicReference<Exception> failure = new AtomicReference<>();
    private volatile boolean running = true;
    /** System.nanoTime() before the last end-offset query that found the consumer at the end. */
    private volatile long atEndSince = Long.MIN_VALUE;

    JobBenchReader(Properties client, String topic, JobBenchResults results) {
        Properties props = new Properties();
        props.putAll(client);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
        props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "50");
        this.consumer = new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer());
        this.partitions = consumer.partitionsFor(topic).stream()
                .map(p -> new TopicPartition(topic, p.partition())).toList();
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
        this.results = results;
        this.thread = new Thread(this::poll, "bench-job-results-" + topic);
        thread.setDaemon(true);
        thread.start();
    }

    private void poll() {
        try {
            while (running) {
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(100));
                long visible = System.currentTimeMillis();
                for (ConsumerRecord<String, String> record : records) {
                    results.add(record.value(), visible);
                }
                long asked = System.nanoTime();
                Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
                if (partitions.stream().allMatch(p -> consumer.position(p) >= end.get(p))) {
                    atEndSince = asked;
                }
            }
        } catch (Exception e) {
            failure.set(e);
        }
    }

    /**
     * Waits until at least {@code expected} results were read and the consumer then stood at the topic's
     * end (so any duplicate committed by then was read too); false after {@code timeout}.
     */
    boolean awaitComplete(long expected, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long reachedAt = Long.MAX_VALUE;
        while (System.nanoTime() < deadline) {
            throwIfFailed();
            if (reachedAt == Long.MAX_VALUE && results.results() >= expected) {
                reachedAt = System.nanoTime();
            }
            if (atEndSince > reachedAt) {
                return true;
            }
            Thread.sleep(20);
        }
        return false;
    }

    private void throwIfFailed() {
        Exception e = failure.get();
        if (e != null) {
            throw new IllegalStateException("reading the results failed: " + e, e);
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join();
        consumer.close();
        throwIfFailed();
    }
}
