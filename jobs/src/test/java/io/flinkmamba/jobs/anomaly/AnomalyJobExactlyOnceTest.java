package io.flinkmamba.jobs.anomaly;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkmamba.event.EventModels;
import io.flinkmamba.event.EventSchema;
import io.flinkmamba.jobs.JobRuns;
import io.flinkmamba.jobs.KafkaTestSupport;
import io.flinkmamba.jobs.common.JobConfig;
import io.flinkmamba.jobs.common.SourceEvent;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The anomaly job end to end through the broker, and exactly-once: a run that fails once mid-stream (after a
 * completed checkpoint) and restarts from its checkpoint leaves, for a read_committed consumer, exactly one result
 * per input event, equal to a failure-free run's.
 */
class AnomalyJobExactlyOnceTest {
    @RegisterExtension
    static final KafkaTestSupport KAFKA = new KafkaTestSupport();
    static final long BASE = 1_700_000_000_000L;
    static final int KEYS = 4;
    static final int EVENTS_PER_KEY = 150;

    @TempDir
    static Path tmp;
    static Path model;
    static String topics;

    @BeforeAll
    static void modelAndInput() throws Exception {
        model = tmp.resolve("model");
        EventModels.random(EventSchema.numeric("cpu", "latency"), 16, 1, 4, 7, model);
        topics = KAFKA.topics("anomaly", 2);
        Random random = new Random(11);
        List<String[]> records = new ArrayList<>();
        for (int t = 0; t < EVENTS_PER_KEY; t++) {
            for (int k = 0; k < KEYS; k++) {
                records.add(new String[] {"host" + k, String.format(java.util.Locale.ROOT,
                        "{\"host\":\"host%d\",\"ts\":%d,\"cpu\":%.4f,\"latency\":%.4f}", k, BASE + t * 1000L,
                        random.nextGaussian(), 5 + random.nextGaussian())});
            }
        }
        KAFKA.produce(topics + "-in", records);
    }

    private static Map<String, String> settings(String run) {
        return JobRuns.with(JobRuns.settings(KAFKA, topics, model),
                "job.name", topics + "-" + run, "kafka.output-topic", topics + "-" + run + "-out",
                "kafka.dead-letter-topic", topics + "-" + run + "-dead",
                "mapping.key-field", "host", "mapping.timestamp-field", "ts", "mapping.numeric-fields", "cpu;latency");
    }

    @Test
    void aFailedAndRestartedRunWritesExactlyTheFailureFreeResults() throws Exception {
        KAFKA.createOutputTopics(topics + "-clean-out", topics + "-clean-dead", topics + "-failing-out", topics + "-failing-dead");
        JobConfig clean = AnomalyJob.configure(settings("clean"));
        StreamExecutionEnvironment cleanEnv = JobRuns.environment(clean, tmp.resolve("cp-clean"), 0);
        AnomalyJob.build(cleanEnv, clean, s -> s);
        cleanEnv.execute();
        List<ConsumerRecord<String, String>> expected = KAFKA.consumeAll(topics + "-clean-out");
        checkSchema(expected);

        JobConfig failing = AnomalyJob.configure(settings("failing"));
        StreamExecutionEnvironment failingEnv = JobRuns.environment(failing, tmp.resolve("cp-failing"), 2);
        FailOnceAfterCheckpoint.reset();
        AnomalyJob.build(failingEnv, failing, events -> events.map(new FailOnceAfterCheckpoint()).returns(SourceEvent.class));
        failingEnv.execute();
        assertTrue(FailOnceAfterCheckpoint.FAILED.get(), "the job failed once");
        List<ConsumerRecord<String, String>> actual = KAFKA.consumeAll(topics + "-failing-out");
        List<ConsumerRecord<String, String>> dead = KAFKA.consumeAll(topics + "-failing-dead");
        assertTrue(dead.isEmpty(), () -> dead.stream().map(ConsumerRecord::value).toList().toString());

        assertEquals(KEYS * EVENTS_PER_KEY, actual.size(), "one committed result per input event");
        assertEquals(byOffset(expected), byOffset(actual));
    }

    /** Every result's fields, and one result per input offset. */
    private static void checkSchema(List<ConsumerRecord<String, String>> results) throws Exception {
        assertEquals(KEYS * EVENTS_PER_KEY, results.size());
        ObjectMapper json = new ObjectMapper();
        Set<String> offsets = new HashSet<>();
        Map<String, Long> lastTimestamp = new HashMap<>();
        for (ConsumerRecord<String, String> record : results) {
            JsonNode result = json.readTree(record.value());
            String key = result.get("key").asText();
            assertEquals(record.key(), key);
            assertTrue(offsets.add(result.get("partition").asInt() + "/" + result.get("offset").asLong()));
            long timestamp = result.get("timestamp").asLong();
            assertTrue(timestamp > lastTimestamp.getOrDefault(key, Long.MIN_VALUE), "each key's results in event order");
            boolean first = !lastTimestamp.containsKey(key);
            lastTimestamp.put(key, timestamp);
            assertEquals(first, result.get("score").isNull());
            if (!first) {
                assertTrue(Double.isFinite(result.get("score").asDouble()));
                double likelihood = result.get("likelihood").asDouble();
                assertTrue(likelihood >= 0 && likelihood <= 1);
            }
            double anomalyScore = result.get("anomaly_score").asDouble();
            assertTrue(anomalyScore >= 0 && anomalyScore <= 1, record.value());
            assertEquals(anomalyScore >= 0.5, result.get("anomaly").asBoolean(), record.value());
            assertTrue(result.get("values").has("cpu") && result.get("values").has("latency"));
            assertTrue(result.get("prediction").get("latency").get("std").asDouble() > 0);
        }
    }

    private static Map<String, String> byOffset(List<ConsumerRecord<String, String>> results) throws Exception {
        ObjectMapper json = new ObjectMapper();
        Map<String, String> map = new TreeMap<>();
        for (ConsumerRecord<String, String> record : results) {
            JsonNode result = json.readTree(record.value());
            assertFalse(map.containsKey(result.get("partition") + "/" + result.get("offset")), "duplicate result");
            map.put(result.get("partition") + "/" + result.get("offset"), record.value());
        }
        return map;
    }

    /**
     * Slows the stream down so that checkpoints complete mid-stream, and throws once, on the first event after
     * a checkpoint that completed with more than 100 events behind it. The MiniCluster runs in this JVM, so the
     * flags are static.
     */
    static final class FailOnceAfterCheckpoint extends RichMapFunction<SourceEvent, SourceEvent> implements CheckpointListener {
        static final AtomicBoolean FAILED = new AtomicBoolean();
        static final AtomicBoolean CHECKPOINTED = new AtomicBoolean();
        static final AtomicInteger SEEN = new AtomicInteger();

        static void reset() {
            FAILED.set(false);
            CHECKPOINTED.set(false);
            SEEN.set(0);
        }

        @Override
        public SourceEvent map(SourceEvent event) throws Exception {
            Thread.sleep(5);
            SEEN.incrementAndGet();
            if (CHECKPOINTED.get() && FAILED.compareAndSet(false, true)) {
                throw new IllegalStateException("injected failure");
            }
            return event;
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) {
            if (SEEN.get() > 100) {
                CHECKPOINTED.set(true);
            }
        }
    }
}
