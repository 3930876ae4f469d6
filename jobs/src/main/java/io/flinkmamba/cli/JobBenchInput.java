package io.flinkmamba.cli;

import io.flinkmamba.event.EventSchema;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

import java.util.HashSet;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The input of {@code bench job}: JSON events of a model's schema written to one topic, {@code {"key": "k7",
 * "ts": <epoch ms>, <numeric fields>: numbers, <categorical field>: a category}}, keys uniform or Zipf(1.1),
 * event times strictly increasing per key, key i always on partition i mod partitions. Remembers every
 * event's identity (key and event time) and, for live input, when each record was sent.
 */
final class JobBenchInput implements AutoCloseable {
    static final String KEY_FIELD = "key";
    static final String TIME_FIELD = "ts";

    private final KafkaProducer<String, String> producer;
    private final String topic;
    private final int partitions;
    private final EventSchema schema;
    private final int keys;
    private final double[] zipfCdf;
    private final SplittableRandom random;
    private final long[] lastTimestamp;
    private final Set<String> identities = new HashSet<>();
    /** Send time (epoch ms) by input position ({@link #position}); filled by the producer's callbacks. */
    private final ConcurrentHashMap<Long, Long> sentMillis = new ConcurrentHashMap<>();
    private final AtomicReference<Exception> sendFailure = new AtomicReference<>();
    private long sent;

    JobBenchInput(Properties client, String topic, int partitions, EventSchema schema, int keys, boolean zipf, long seed) {
        Properties props = new Properties();
        props.putAll(client);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        props.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(256 * 1024));
        this.producer = new KafkaProducer<>(props, new StringSerializer(), new StringSerializer());
        this.topic = topic;
        this.partitions = partitions;
        this.schema = schema;
        this.keys = keys;
        this.zipfCdf = zipf ? OperatorBenchCommand.zipfCdf(keys, OperatorBenchCommand.ZIPF_EXPONENT) : null;
        this.random = new SplittableRandom(seed);
        this.lastTimestamp = new long[keys];
        java.util.Arrays.fill(lastTimestamp, Long.MIN_VALUE);
    }

    /** A backlog of {@code events} events, 1 ms apart in event time, ending a second before now. */
    void prefill(int events) {
        long base = System.currentTimeMillis() - events - 1000L;
        for (int i = 0; i < events; i++) {
            send(nextKey(), base + i);
        }
        flush();
    }

    /**
     * Live input at {@code rate} events per second for {@code seconds}, event time the wall clock when sent
     * (moved up by a millisecond where a key already has an event at that time).
     */
    void paced(double rate, double seconds) throws InterruptedException {
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        long first = sent;
        for (long now = start; now < end; now = System.nanoTime()) {
            long due = (long) ((now - start) / 1e9 * rate);
            while (sent - first < due) {
                int key = nextKey();
                send(key, Math.max(System.currentTimeMillis(), lastTimestamp[key] + 1));
            }
            Thread.sleep(1);
        }
        flush();
    }

    private int nextKey() {
        double u = random.nextDouble();
        return zipfCdf == null ? Math.min(keys - 1, (int) (u * keys)) : OperatorBenchCommand.zipfRank(zipfCdf, u);
    }

    private void send(int key, long timestamp) {
        lastTimestamp[key] = timestamp;
        String name = "k" + key;
        identities.add(identity(name, timestamp));
        long sentAt = System.currentTimeMillis();
        producer.send(new ProducerRecord<>(topic, key % partitions, sentAt, name, json(name, key, timestamp)),
                (metadata, failure) -> {
                    if (failure != null) {
                        sendFailure.compareAndSet(null, failure);
                    } else {
                        sentMillis.put(position(metadata.partition(), metadata.offset()), sentAt);
                    }
                });
        sent++;
    }

    private String json(String name, int key, long timestamp) {
        StringBuilder json = new StringBuilder(96).append("{\"").append(KEY_FIELD).append("\":\"").append(name)
                .append("\",\"").append(TIME_FIELD).append("\":").append(timestamp);
        for (int i = 0; i < schema.numericCount(); i++) {
            // A daily-like wave per key and field plus noise: values a model sees in metrics.
            double value = 1 + Math.sin(timestamp / 60_000.0 + key + i) + 0.1 * random.nextDouble();
            json.append(",\"").append(schema.numericFields().get(i)).append("\":")
                    .append(String.format(Locale.ROOT, "%.4f", value));
        }
        if (schema.hasCategory()) {
            json.append(",\"").append(schema.categoricalField()).append("\":\"")
                    .append(schema.categories().get(random.nextInt(schema.categoryCount()))).append('"');
        }
        return json.append('}').toString();
    }

    private void flush() {
        producer.flush();
        Exception failure = sendFailure.get();
        if (failure != null) {
            throw new IllegalStateException("writing the input to " + topic + " failed: " + failure, failure);
        }
    }

    /** What identifies an event, and its result: key and event time. */
    static String identity(String key, long timestamp) {
        return key + "@" + timestamp;
    }

    /** One number for an input record's partition and offset. */
    static long position(int partition, long offset) {
        return ((long) partition << 48) | offset;
    }

    long sent() {
        return sent;
    }

    /** The identities of every event sent. */
    Set<String> identities() {
        return identities;
    }

    /** When the record at this input position was sent (epoch ms), or null if it is not one of this input's. */
    Long sentMillis(int partition, long offset) {
        return sentMillis.get(position(partition, offset));
    }

    @Override
    public void close() {
        producer.close();
    }
}
