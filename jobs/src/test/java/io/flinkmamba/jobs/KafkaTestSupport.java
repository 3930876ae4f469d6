package io.flinkmamba.jobs;

import io.flinkmamba.kafka.EmbeddedKafka;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** A JUnit extension that runs one embedded Kafka broker for a test class, with produce and consume helpers. */
public final class KafkaTestSupport implements BeforeAllCallback, AfterAllCallback {
    private EmbeddedKafka kafka;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        kafka = EmbeddedKafka.start();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (kafka != null) {
            kafka.close();
        }
    }

    public String bootstrapServers() {
        return kafka.bootstrapServers();
    }

    /** Creates fresh topics named {@code prefix-in}, {@code -out}, {@code -dead}; returns the prefix made unique. */
    public String topics(String prefix, int inputPartitions) {
        String unique = prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
        kafka.createTopics(inputPartitions, unique + "-in");
        kafka.createTopics(1, unique + "-out", unique + "-dead");
        return unique;
    }

    public void createOutputTopics(String... names) {
        kafka.createTopics(1, names);
    }

    /** Writes records (key, value) to a topic, partitioned by key, in order. */
    public void produce(String topic, List<String[]> keyValues) {
        produceBytes(topic, keyValues.stream().map(kv -> new byte[][] {
                kv[0] == null ? null : kv[0].getBytes(StandardCharsets.UTF_8),
                kv[1] == null ? null : kv[1].getBytes(StandardCharsets.UTF_8)}).toList());
    }

    /** Lets a topic take records of up to {@code bytes} (its max.message.bytes). */
    public void allowMessageBytes(String topic, int bytes) throws Exception {
        try (Admin admin = Admin.create(kafka.clientProperties())) {
            admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.TOPIC, topic), List.of(
                    new AlterConfigOp(new ConfigEntry("max.message.bytes", String.valueOf(bytes)), AlterConfigOp.OpType.SET))))
                    .all().get(60, TimeUnit.SECONDS);
        }
    }

    public void produceBytes(String topic, List<byte[][]> keyValues) {
        Properties props = kafka.clientProperties();
        props.put("acks", "all");
        // Large enough for the tests' largest records; the topic decides what it takes.
        props.put("max.request.size", String.valueOf(64 << 20));
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (byte[][] kv : keyValues) {
                producer.send(new ProducerRecord<>(topic, kv[0], kv[1]));
            }
            producer.flush();
        }
    }

    /** Reads a topic's committed records (read_committed) until {@code done} holds or the timeout passes. */
    public List<ConsumerRecord<String, String>> consume(String topic, Predicate<List<ConsumerRecord<String, String>>> done,
                                                        Duration timeout) {
        Properties props = kafka.clientProperties();
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!done.test(records) && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    records.add(new ConsumerRecord<>(r.topic(), r.partition(), r.offset(),
                            r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8),
                            new String(r.value(), StandardCharsets.UTF_8)));
                }
            }
        }
        return records;
    }

    /** Every committed record of a topic, as of now (polls until a quiet second). */
    public List<ConsumerRecord<String, String>> consumeAll(String topic) {
        long[] lastSize = {-1};
        long[] stableSince = {0};
        return consume(topic, records -> {
            if (records.size() != lastSize[0]) {
                lastSize[0] = records.size();
                stableSince[0] = System.nanoTime();
                return false;
            }
            return System.nanoTime() - stableSince[0] > 1_500_000_000L;
        }, Duration.ofSeconds(60));
    }
}
