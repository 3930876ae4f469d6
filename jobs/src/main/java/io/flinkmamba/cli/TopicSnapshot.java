package io.flinkmamba.cli;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * A Kafka topic's JSON events as of now: every partition from its earliest offset up to its end offset when the
 * read starts, partition after partition in offset order (so a read is repeatable), at most {@code maxRecords}
 * records. The consumer reads read_committed: records of aborted transactions (the jobs write exactly-once) are
 * skipped, and the end offset is the last stable one, so an open transaction is not waited for. Partitions are
 * assigned, not subscribed: no consumer group, no committed offsets.
 */
final class TopicSnapshot {
    /** How long the broker may stay silent (metadata, offsets, or a partition's next records) by default. */
    static final String DEFAULT_TIMEOUT_MS = "30000";

    private TopicSnapshot() {}

    /**
     * Adds the topic's records' values to {@code events}, each named "topic T partition P offset O" in errors.
     * Throws a {@link KafkaException} with a clear message when the broker does not answer within
     * {@code default.api.timeout.ms}, the topic does not exist, or a partition stops short of its end.
     */
    static void read(String bootstrapServers, Map<String, String> properties, String topic, long maxRecords,
                     EventFile.Events events) {
        Properties props = new Properties();
        props.putAll(properties);
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.remove(ConsumerConfig.GROUP_ID_CONFIG);
        props.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "flink-mamba-train");
        props.putIfAbsent(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, DEFAULT_TIMEOUT_MS);
        long timeoutMillis = Long.parseLong(props.getProperty(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG));
        String broker = "Kafka at " + bootstrapServers;
        try (KafkaConsumer<byte[], byte[]> consumer =
                     new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .sorted(Comparator.comparingInt(PartitionInfo::partition))
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            if (partitions.isEmpty()) {
                throw new KafkaException("topic '" + topic + "' does not exist at " + broker);
            }
            Map<TopicPartition, Long> begin = consumer.beginningOffsets(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            long read = 0;
            for (TopicPartition partition : partitions) {
                long endOffset = end.get(partition);
                long position = begin.get(partition);
                consumer.assign(List.of(partition));
                consumer.seek(partition, position);
                long lastProgress = System.nanoTime();
                String source = "topic " + topic + " partition " + partition.partition() + " offset ";
                while (position < endOffset && read < maxRecords) {
                    for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                        if (record.offset() >= endOffset || read >= maxRecords) {
                            break;
                        }
                        if (record.value() == null) {
                            events.invalid(source, record.offset(), "no value");
                        } else {
                            events.addJson(source, record.offset(), new String(record.value(), StandardCharsets.UTF_8));
                        }
                        read++;
                    }
                    // Aborted records and transaction markers advance the position without returning records.
                    long now = consumer.position(partition);
                    if (now > position) {
                        position = now;
                        lastProgress = System.nanoTime();
                    } else if (System.nanoTime() - lastProgress > timeoutMillis * 1_000_000) {
                        throw new KafkaException("partition " + partition.partition() + " of topic '" + topic
                                + "' stopped at offset " + position + " before its end offset " + endOffset
                                + ": nothing from " + broker + " for " + timeoutMillis + " ms");
                    }
                }
            }
        } catch (TimeoutException e) {
            throw new KafkaException("no answer from " + broker + " within " + timeoutMillis
                    + " ms (default.api.timeout.ms; --kafka-property sets it): " + e.getMessage(), e);
        }
    }
}
