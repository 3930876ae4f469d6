package io.flinkmamba.cli;

import io.flinkmamba.jobs.KafkaTestSupport;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MetricOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code run} progress line: committed records only, and the job's restarts. */
class ProgressTest {
    @RegisterExtension
    static final KafkaTestSupport KAFKA = new KafkaTestSupport();

    @Test
    void countsOnlyCommittedRecordsAndShowsTheRestarts() throws Exception {
        String topics = KAFKA.topics("progress", 1);
        Properties kafka = new Properties();
        kafka.put("bootstrap.servers", KAFKA.bootstrapServers());
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        try (Progress progress = new Progress(kafka, topics + "-out", topics + "-dead",
                new PrintStream(printed, true, StandardCharsets.UTF_8), false, Duration.ZERO)) {
            progress.restarts(() -> 2);
            Properties props = new Properties();
            props.putAll(kafka);
            props.put("transactional.id", topics + "-tx");
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(),
                    new ByteArraySerializer())) {
                producer.initTransactions();
                producer.beginTransaction();
                producer.send(new ProducerRecord<>(topics + "-out", "aborted".getBytes(StandardCharsets.UTF_8)));
                producer.send(new ProducerRecord<>(topics + "-dead", "aborted".getBytes(StandardCharsets.UTF_8)));
                producer.flush();
                producer.abortTransaction();
                producer.beginTransaction();
                for (int i = 0; i < 3; i++) {
                    producer.send(new ProducerRecord<>(topics + "-out", "committed".getBytes(StandardCharsets.UTF_8)));
                }
                producer.send(new ProducerRecord<>(topics + "-dead", "committed".getBytes(StandardCharsets.UTF_8)));
                producer.commitTransaction();
            }
            progress.tick();
            progress.done();
        }
        List<String> lines = printed.toString(StandardCharsets.UTF_8).lines().toList();
        String last = lines.get(lines.size() - 1);
        assertTrue(last.startsWith("records 4 (results 3, dead letters 1)  "), last);
        assertTrue(last.contains("  restarts 2  elapsed "), last);
    }

    @Test
    void readsTheRestartsOfAJobFromTheRestApiOfItsMiniCluster() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        Configuration flink = new Configuration();
        flink.set(RestOptions.ADDRESS, "localhost");
        flink.set(RestOptions.BIND_PORT, String.valueOf(port));
        flink.set(MetricOptions.METRIC_FETCHER_UPDATE_INTERVAL, Duration.ofMillis(200));
        flink.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        flink.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 5);
        flink.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(100));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1, flink);
        env.fromSequence(0, Long.MAX_VALUE).map(new FailTwice()).sinkTo(new org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink<>());
        JobClient job = env.executeAsync("fails twice");
        try {
            JobRestarts restarts = new JobRestarts("localhost", port, job.getJobID());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            long seen = -1;
            while (seen < 2 && System.nanoTime() < deadline) {
                seen = restarts.read().orElse(-1);
                Thread.sleep(200);
            }
            assertEquals(2, seen, "numRestarts of a job that failed twice");
        } finally {
            job.cancel().get(60, TimeUnit.SECONDS);
        }
    }

    /** Fails the first two attempts at their first record, then passes records on slowly. */
    static final class FailTwice extends RichMapFunction<Long, Long> {
        @Override
        public Long map(Long value) throws Exception {
            if (getRuntimeContext().getTaskInfo().getAttemptNumber() < 2) {
                throw new IllegalStateException("injected failure");
            }
            Thread.sleep(1);
            return value;
        }
    }
}
