package io.flinkmamba.cluster;

import io.flinkmamba.event.EventModels;
import io.flinkmamba.event.EventSchema;
import io.flinkmamba.jobs.JobRuns;
import io.flinkmamba.jobs.KafkaTestSupport;
import io.flinkmamba.jobs.anomaly.AnomalyJob;
import io.flinkmamba.jobs.common.JobConfig;
import io.flinkmamba.jobs.common.KafkaPipeline;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.util.FileUtils;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The anomaly job on a real multi-process cluster ({@link LocalCluster}: a JobManager and TaskManager
 * JVMs) reading from and writing to a real Kafka broker, exactly once:
 * <ul>
 *   <li>TaskManager processes are killed with SIGKILL at random moments, three times in one run, and a
 *       new TaskManager is started after each kill; a read_committed consumer then sees exactly one result
 *       per input event, each bit-equal to the failure-free run's;</li>
 *   <li>the job is stopped with a savepoint part-way and restarted from it with another parallelism; the
 *       results of the two runs together are again exactly the failure-free run's.</li>
 * </ul>
 * Every run reads the same input topic; the failure-free reference runs first on the same cluster.
 */
class ClusterFaultToleranceTest {
    @RegisterExtension
    static final KafkaTestSupport KAFKA = new KafkaTestSupport();

    static final int KEYS = 12;
    static final int EVENTS = 6_000;
    /** Input events per second while a job runs: below its capacity, so checkpoints (and commits) keep pace. */
    static final int RATE = 300;
    static final int KILLS = 3;
    static final long BASE = 1_700_000_000_000L;
    static final EventSchema SCHEMA = EventSchema.numeric("cpu", "latency");

    @TempDir
    static Path tmp;
    static LocalCluster cluster;
    static Path model;
    static String prefix;
    static List<String[]> input;
    /** Result JSON by input position (partition/offset), from the failure-free run. */
    static Map<String, String> reference;

    @BeforeAll
    static void clusterInputAndReference() throws Exception {
        model = tmp.resolve("model");
        EventModels.random(SCHEMA, 16, 2, 8, 11, model);
        long start = System.currentTimeMillis();
        // In target/, not a temporary folder: the processes' logs stay there for a look after a failure.
        Path dir = Path.of("target", "fault-test-cluster");
        FileUtils.deleteDirectoryQuietly(dir.toFile());
        cluster = LocalCluster.start(dir, LocalCluster.Settings.defaults(), Duration.ofMinutes(2));
        System.out.printf("cluster (jobmanager, 2 taskmanagers) up: %d ms%n", System.currentTimeMillis() - start);

        prefix = KAFKA.topics("fault", 1);
        Random random = new Random(3);
        input = new ArrayList<>();
        for (int i = 0; i < EVENTS; i++) {
            int host = random.nextInt(KEYS);
            double cpu = 0.5 + 0.3 * Math.sin(i / 40.0 + host) + 0.05 * random.nextGaussian() + (i % 997 == 0 ? 3 : 0);
            double latency = 20 + host + 2 * random.nextGaussian();
            input.add(new String[] {"h" + host, String.format(Locale.ROOT, "{\"host\":\"h%d\",\"ts\":%d,\"cpu\":%s,\"latency\":%s}",
                    host, BASE + i * 250L, cpu, latency)});
        }

        // The failure-free run: the whole input at once, a bounded job.
        String run = "reference";
        createTopics(run);
        KAFKA.produce(inputTopic(run), input);
        start = System.currentTimeMillis();
        JobClient client = submit(settings(run, 2, true), null);
        cluster.awaitJobStatus(client.getJobID(), JobStatus.FINISHED, Duration.ofMinutes(2));
        System.out.printf("failure-free run: %d ms%n", System.currentTimeMillis() - start);
        reference = results(run);
        assertEquals(EVENTS, reference.size(), "the failure-free run has one result per input event");
    }

    /** Jobs a test started: cancelled after it, should it fail, so that they do not slow the next one down. */
    final List<JobClient> running = new ArrayList<>();

    @AfterEach
    void cancelLeftoverJobs() {
        for (JobClient client : running) {
            if (!status(client).isGloballyTerminalState()) {
                client.cancel().join();
            }
        }
    }

    static JobStatus status(JobClient client) {
        try {
            return client.getJobStatus().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            return JobStatus.INITIALIZING; // not known at the moment: not terminal
        }
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void taskManagersKilledAtRandomMomentsLoseNothingAndChangeNothing() throws Exception {
        String run = "kills";
        createTopics(run);
        JobClient client = submit(settings(run, 2, false), null);
        running.add(client);
        long submitted = System.currentTimeMillis();
        long seed = System.nanoTime();
        Random random = new Random(seed);
        int nextTaskManager = 3;
        try (PacedInput paced = new PacedInput(inputTopic(run), EVENTS); CommittedCount committed = new CommittedCount(outputTopic(run))) {
            for (int kill = 0; kill < KILLS; kill++) {
                // A random moment in the kill's share of the run, after the previous recovery made progress.
                long target = (long) (EVENTS * (0.1 + 0.2 * kill + 0.1 * random.nextDouble()));
                int number = kill + 1;
                awaitTrue(() -> committed.count() >= target && status(client) == JobStatus.RUNNING, Duration.ofMinutes(2),
                        "kill " + number + " (seed " + seed + "): " + target + " results committed, the job running");
                Thread.sleep(random.nextInt(1000));
                assertFalse(status(client).isGloballyTerminalState(), "the job still runs at kill " + number);
                // One of the TaskManagers that run the job's tasks (with slot sharing, one may run none).
                List<Integer> working = new ArrayList<>();
                awaitTrue(() -> {
                    working.clear();
                    working.addAll(cluster.taskManagersOf(client.getJobID()));
                    working.retainAll(cluster.liveTaskManagers());
                    return !working.isEmpty();
                }, Duration.ofSeconds(30), "a live TaskManager that runs the job (REST: " + cluster.restAddress() + ")");
                int victim = working.get(random.nextInt(working.size()));
                cluster.killTaskManager(victim);
                System.out.printf("kill %d: taskmanager-%d (SIGKILL) at %d committed results, %d input events written,"
                        + " %d ms after submission%n", number, victim, committed.count(), paced.sent(), System.currentTimeMillis() - submitted);
                cluster.startTaskManager(nextTaskManager++);
                // The JobManager notices the loss and fails the job over before the next kill is prepared
                // (two kills within one detection would make one failover).
                awaitTrue(() -> failovers(client.getJobID()) >= number, Duration.ofMinutes(1), "failover " + number);
            }
            paced.await();
        }
        finish(run, client);
        System.out.printf("all results %d ms after submission; dead letters so far %d%n", System.currentTimeMillis() - submitted,
                KAFKA.consumeAll(prefix + "-dead").size());
        assertEquals(reference, results(run), "seed " + seed + ": one result per input, bit-equal to the failure-free run");
        assertEquals(2, cluster.liveTaskManagers().size(), "two TaskManagers again");
        System.out.printf("failovers: %d%n", failovers(client.getJobID()));
    }

    @Test
    void stopWithSavepointAndRestartWithAnotherParallelism() throws Exception {
        String run = "rescale";
        createTopics(run);
        JobClient first = submit(settings(run, 2, false), null);
        running.add(first);
        // The input pauses after 40% until the savepoint is taken, so that the first run stops part-way.
        int pauseAt = EVENTS * 2 / 5;
        try (PacedInput paced = new PacedInput(inputTopic(run), pauseAt)) {
            String savepoint;
            try (CommittedCount committed = new CommittedCount(outputTopic(run))) {
                awaitTrue(() -> committed.count() >= EVENTS / 4, Duration.ofMinutes(2), "a quarter of the results committed");
                savepoint = cluster.stopWithSavepoint(first.getJobID(), Duration.ofMinutes(1));
            }
            int before = results(run).size();
            System.out.printf("stopped with a savepoint at %d of %d results: %s%n", before, EVENTS, savepoint);
            assertTrue(before >= EVENTS / 4 && before <= pauseAt, "stopped part-way: " + before);

            // The rest with parallelism 3, from the savepoint, while the input goes on arriving.
            JobClient second = submit(settings(run, 3, false), savepoint);
            running.add(second);
            paced.resume();
            paced.await();
            finish(run, second);
        }
        assertEquals(reference, results(run), "results before and after the rescale: exactly the failure-free run's");
    }

    // ---------------------------------------------------------------------------------------------

    static String inputTopic(String run) {
        return prefix + "-" + run + "-in";
    }

    static String outputTopic(String run) {
        return prefix + "-" + run + "-out";
    }

    static Map<String, String> settings(String run, int parallelism, boolean bounded) {
        return JobRuns.with(JobRuns.settings(KAFKA, prefix, model),
                "job.name", prefix + "-" + run,
                "job.parallelism", String.valueOf(parallelism),
                "kafka.input-topic", inputTopic(run),
                "kafka.output-topic", outputTopic(run),
                "kafka.bounded", String.valueOf(bounded),
                "kafka.starting-offsets", "earliest",
                "checkpoints.interval", "1s",
                // Every partition always has data: no idleness, so the watermark is the same in every run.
                "watermarks.idleness", "0s",
                "mapping.key-field", "host",
                "mapping.timestamp-field", "ts",
                "mapping.numeric-fields", "cpu;latency");
    }

    /**
     * The run's input topic (4 partitions, as the reference's: same records, same partitions, same offsets)
     * and output topic. No time-based retention: the events' times lie in 2023, and the broker's retention
     * check (every 5 minutes) would otherwise delete their segments under the test's feet.
     */
    static void createTopics(String run) throws Exception {
        Map<String, String> keep = Map.of("retention.ms", "-1");
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", KAFKA.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(inputTopic(run), 4, (short) 1).configs(keep),
                    new NewTopic(outputTopic(run), 1, (short) 1).configs(keep))).all().get();
        }
    }

    /**
     * Ends an unbounded run once its source has read (and checkpointed) the whole input: stop with drain, so
     * that the final watermark releases the events the operator holds for event-time order.
     */
    static void finish(String run, JobClient client) throws Exception {
        awaitTrue(() -> inputFullyRead(run), Duration.ofMinutes(3), "the whole input read by " + run);
        cluster.stopWithSavepoint(client.getJobID(), true, Duration.ofMinutes(1));
    }

    /** Submits the anomaly job to the cluster (optionally from a savepoint); the cluster's TaskManagers have its classes. */
    static JobClient submit(Map<String, String> settings, String savepoint) throws Exception {
        JobConfig config = AnomalyJob.configure(settings);
        Configuration flink = KafkaPipeline.flinkConfiguration(config, null);
        if (savepoint != null) {
            flink.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
        }
        String[] rest = cluster.restAddress().split(":");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createRemoteEnvironment(rest[0], Integer.parseInt(rest[1]), flink);
        AnomalyJob.build(env, config, events -> events);
        JobClient client = env.executeAsync(config.jobName());
        cluster.awaitJobStatus(client.getJobID(), JobStatus.RUNNING, Duration.ofMinutes(1));
        return client;
    }

    /**
     * The committed results of a run by input position (partition/offset), the input topic's name replaced
     * by the reference run's; fails on a second result for one input.
     */
    static Map<String, String> results(String run) {
        Map<String, String> byInput = new HashMap<>();
        for (ConsumerRecord<String, String> record : KAFKA.consumeAll(outputTopic(run))) {
            String value = record.value().replace("\"topic\":\"" + inputTopic(run) + "\"",
                    "\"topic\":\"" + inputTopic("reference") + "\"");
            String identity = value.replaceAll(".*\"partition\":(\\d+),\"offset\":(\\d+).*", "$1/$2");
            String previous = byInput.put(identity, value);
            assertTrue(previous == null, "a second result for input " + identity + ":\n" + previous + "\n" + value);
        }
        return byInput;
    }

    /** Whether the run's consumer group has committed the end offset of every input partition. */
    static boolean inputFullyRead(String run) {
        String group = prefix + "-" + run;
        String topic = inputTopic(run);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", KAFKA.bootstrapServers()))) {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get();
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions()
                    .forEach(p -> latest.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
            var ends = admin.listOffsets(latest).all().get();
            return ends.entrySet().stream().allMatch(e -> committed.get(e.getKey()) != null
                    && committed.get(e.getKey()).offset() >= e.getValue().offset());
        } catch (Exception e) {
            return false;
        }
    }

    /** How often the JobManager restarted the job after a failure (its log: RUNNING -> RESTARTING). */
    static long failovers(JobID job) {
        try (Stream<String> lines = Files.lines(cluster.dir().resolve("log/jobmanager.log"))) {
            return lines.filter(l -> l.contains("(" + job + ") switched from state RUNNING to RESTARTING")).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void awaitTrue(BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            Thread.sleep(100);
        }
    }

    /**
     * Writes the input to a topic at {@link #RATE} events per second, in order, from a thread of its own;
     * pauses after {@code pauseAt} events until {@link #resume}.
     */
    static final class PacedInput implements AutoCloseable {
        private final Thread thread;
        private final CountDownLatch resumed = new CountDownLatch(1);
        private final AtomicInteger sent = new AtomicInteger();
        private volatile Throwable failure;

        PacedInput(String topic, int pauseAt) {
            thread = new Thread(() -> {
                Map<String, Object> props = Map.of("bootstrap.servers", KAFKA.bootstrapServers(), "acks", "all");
                try (KafkaProducer<String, String> producer = new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
                    long start = System.nanoTime();
                    int batch = RATE / 20;
                    for (int i = 0; i < input.size(); i += batch) {
                        if (i == pauseAt) {
                            long paused = System.nanoTime();
                            resumed.await();
                            start += System.nanoTime() - paused;
                        }
                        for (String[] record : input.subList(i, Math.min(input.size(), i + batch))) {
                            producer.send(new ProducerRecord<>(topic, record[0], record[1]));
                        }
                        producer.flush();
                        sent.set(Math.min(input.size(), i + batch));
                        long due = start + (i + batch) * 1_000_000_000L / RATE;
                        Thread.sleep(Math.max(0, (due - System.nanoTime()) / 1_000_000));
                    }
                } catch (Throwable t) {
                    failure = t;
                }
            }, "paced-input");
            thread.start();
        }

        int sent() {
            return sent.get();
        }

        void resume() {
            resumed.countDown();
        }

        void await() throws InterruptedException {
            thread.join();
            if (failure != null) {
                throw new AssertionError("writing the input failed", failure);
            }
        }

        @Override
        public void close() throws InterruptedException {
            thread.interrupt();
            thread.join();
        }
    }

    /** A read_committed consumer that keeps counting a topic's committed records. */
    static final class CommittedCount implements AutoCloseable {
        private final KafkaConsumer<String, String> consumer;
        private long count;

        CommittedCount(String topic) {
            Map<String, Object> props = new HashMap<>();
            props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.bootstrapServers());
            props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            consumer = new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer());
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
        }

        long count() {
            count += consumer.poll(Duration.ofMillis(100)).count();
            return count;
        }

        @Override
        public void close() {
            consumer.close();
        }
    }
}
