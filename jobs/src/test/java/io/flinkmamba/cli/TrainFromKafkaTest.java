package io.flinkmamba.cli;

import io.flinkmamba.jobs.KafkaTestSupport;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code train --kafka-topic}: a topic of two partitions holding eight hosts' events (shuffled, so each key is put
 * in time order by the command) in two committed transactions, an aborted transaction between them and one record
 * that is not JSON. Trained from the topic it gives the same model, bit for bit, as from a JSON-lines file of the
 * committed valid events.
 */
class TrainFromKafkaTest {
    @RegisterExtension
    static final KafkaTestSupport KAFKA = new KafkaTestSupport();
    static final int HOSTS = 8;
    static final int EVENTS_PER_HOST = 40;

    @TempDir
    static Path dir;
    static String topic;
    /** The committed valid events' JSON per partition, in offset order. */
    static final List<List<String>> committed = List.of(new ArrayList<>(), new ArrayList<>());
    static long invalidOffset;

    @BeforeAll
    static void produce() throws Exception {
        topic = KAFKA.topics("train", 2) + "-in";
        SplittableRandom random = new SplittableRandom(3);
        List<String[]> events = new ArrayList<>();
        String[] kinds = {"get", "put", "get", "delete"};
        for (int host = 0; host < HOSTS; host++) {
            for (int t = 0; t < EVENTS_PER_HOST; t++) {
                double latency = 20 + 5 * Math.sin(t / 4.0 + host) + random.nextGaussian();
                events.add(new String[] {Integer.toString(host), String.format(Locale.ROOT,
                        "{\"host\":\"host-%d\",\"ts\":%d,\"latency\":%.3f,\"kind\":\"%s\"}", host,
                        1_700_000_000_000L + t * 60_000L, latency, kinds[(t + host) % 4])});
            }
        }
        Collections.shuffle(events, new Random(4));
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.bootstrapServers());
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "train-test");
        try (KafkaProducer<String, String> producer =
                     new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
            producer.initTransactions();
            int half = events.size() / 2;
            producer.beginTransaction();
            for (String[] event : events.subList(0, half)) {
                send(producer, event);
            }
            invalidOffset = producer.send(new ProducerRecord<>(topic, 1, "host-1", "not json")).get().offset();
            producer.commitTransaction();

            producer.beginTransaction();
            for (int partition = 0; partition < 2; partition++) {
                producer.send(new ProducerRecord<>(topic, partition, "ghost", String.format(Locale.ROOT,
                        "{\"host\":\"ghost\",\"ts\":1700000000000,\"latency\":1e6,\"kind\":\"aborted\"}")));
                producer.send(new ProducerRecord<>(topic, partition, "host-" + partition,
                        "{\"host\":\"host-" + partition + "\",\"ts\":1700000000001,\"latency\":1e6,\"kind\":\"get\"}"));
            }
            producer.flush();
            producer.abortTransaction();

            producer.beginTransaction();
            for (String[] event : events.subList(half, events.size())) {
                send(producer, event);
            }
            producer.commitTransaction();
        }
    }

    private static void send(KafkaProducer<String, String> producer, String[] event) {
        int partition = Integer.parseInt(event[0]) % 2;
        producer.send(new ProducerRecord<>(topic, partition, "host-" + event[0], event[1]));
        committed.get(partition).add(event[1]);
    }

    private static String[] args(Path out, String... source) {
        List<String> args = new ArrayList<>(List.of("train", "--out", out.toString(), "--key", "host", "--time", "ts",
                "--numeric", "latency", "--category", "kind", "--d-model", "8", "--layers", "1", "--d-state", "4",
                "--epochs", "2", "--batch-size", "4", "--threads", "1", "--seed", "5", "--progress", "lines"));
        args.addAll(List.of(source));
        return args.toArray(String[]::new);
    }

    @Test
    void trainsTheSameModelFromTheTopicAsFromAFileOfItsCommittedValidEvents() throws Exception {
        List<String> lines = new ArrayList<>(committed.get(0));
        lines.addAll(committed.get(1));
        Path file = Files.write(dir.resolve("events.jsonl"), lines);
        CliRun fromFile = CliRun.of(args(dir.resolve("from-file"), "--input", file.toString()));
        assertEquals(0, fromFile.exit(), fromFile.out() + fromFile.err());

        CliRun fromTopic = CliRun.of(args(dir.resolve("from-topic"), "--kafka-bootstrap", KAFKA.bootstrapServers(),
                "--kafka-topic", topic, "--skip-invalid", "--kafka-property", "max.poll.records=50"));
        assertEquals(0, fromTopic.exit(), fromTopic.out() + fromTopic.err());
        assertTrue(fromTopic.out().contains("train: " + HOSTS * EVENTS_PER_HOST + " events of " + HOSTS
                + " keys from topic " + topic + " (1 invalid rows skipped); numeric [latency], category kind [delete,"
                + " get, put]"), fromTopic.out());
        assertTrue(fromTopic.lastLine().startsWith("trained epochs=2 "), fromTopic.lastLine());
        for (String name : List.of("config.json", "model.safetensors", "flink-mamba.json")) {
            assertArrayEquals(Files.readAllBytes(dir.resolve("from-file").resolve(name)),
                    Files.readAllBytes(dir.resolve("from-topic").resolve(name)), name);
        }
    }

    @Test
    void anInvalidRecordFailsNamingItsOffset() {
        Path out = dir.resolve("failed");
        CliRun run = CliRun.of(args(out, "--kafka-bootstrap", KAFKA.bootstrapServers(), "--kafka-topic", topic));
        assertEquals(1, run.exit(), run.out() + run.err());
        assertTrue(run.err().contains("train: topic " + topic + " partition 1 offset " + invalidOffset
                + ": not JSON: "), run.err());
        assertTrue(run.err().contains("(--skip-invalid skips such rows)"), run.err());
        assertFalse(Files.exists(out), "nothing written");
    }

    @Test
    void maxEventsReadsPartitionAfterPartition() {
        int first = committed.get(0).size();
        CliRun run = CliRun.of(args(dir.resolve("bounded"), "--kafka-bootstrap", KAFKA.bootstrapServers(),
                "--kafka-topic", topic, "--max-events", Integer.toString(first + 5)));
        assertEquals(0, run.exit(), run.out() + run.err());
        long keys = HOSTS / 2 + committed.get(1).subList(0, 5).stream()
                .map(json -> json.replaceAll(".*\"host\":\"([^\"]+)\".*", "$1")).collect(Collectors.toSet()).size();
        assertTrue(run.out().contains("train: " + (first + 5) + " events of " + keys + " keys from topic " + topic
                + ";"), run.out());
    }

    @Test
    void aMissingTopicOrAnUnreachableBrokerIsAClearError() throws Exception {
        CliRun missing = CliRun.of(args(dir.resolve("missing"), "--kafka-bootstrap", KAFKA.bootstrapServers(),
                "--kafka-topic", "no-such-topic"));
        assertEquals(1, missing.exit(), missing.out() + missing.err());
        assertTrue(missing.err().contains("train: topic 'no-such-topic' does not exist at Kafka at "
                + KAFKA.bootstrapServers()), missing.err());

        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        long started = System.nanoTime();
        CliRun unreachable = CliRun.of(args(dir.resolve("unreachable"), "--kafka-bootstrap", "localhost:" + closedPort,
                "--kafka-topic", topic, "--kafka-property", "default.api.timeout.ms=1000"));
        assertEquals(1, unreachable.exit(), unreachable.out() + unreachable.err());
        assertTrue(unreachable.err().contains("train: no answer from Kafka at localhost:" + closedPort
                + " within 1000 ms"), unreachable.err());
        assertTrue(System.nanoTime() - started < 20_000_000_000L, "bounded by the timeout");
    }

    @Test
    void theSourceIsAFileOrATopicNotBoth() {
        CliRun both = CliRun.of(args(dir.resolve("both"), "--input", "events.jsonl", "--kafka-bootstrap",
                KAFKA.bootstrapServers(), "--kafka-topic", topic));
        assertEquals(2, both.exit());
        assertTrue(both.err().contains("mutually exclusive"), both.err());
    }
}
