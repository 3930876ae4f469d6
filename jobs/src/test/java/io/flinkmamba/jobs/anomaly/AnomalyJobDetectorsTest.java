package io.flinkmamba.jobs.anomaly;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkmamba.jobs.JobRuns;
import io.flinkmamba.jobs.KafkaTestSupport;
import io.flinkmamba.jobs.common.ConfigException;
import io.flinkmamba.jobs.common.JobConfig;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The anomaly job's detector choices end to end through the broker: the shipped default model when no model is
 * set, and the Random Cut Forest baseline; a spike after a steady stretch is flagged by both, the steady events
 * are not, and every event has exactly one result.
 */
class AnomalyJobDetectorsTest {
    @RegisterExtension
    static final KafkaTestSupport KAFKA = new KafkaTestSupport();
    private static final long BASE = 1_700_000_000_000L;
    private static final int KEYS = 2;
    private static final int EVENTS_PER_KEY = 700;
    private static final int SPIKE = 650;

    @TempDir
    Path tmp;

    private String topicsWithInput() {
        String topics = KAFKA.topics("detectors", 1);
        Random random = new Random(5);
        List<String[]> records = new ArrayList<>();
        for (int t = 0; t < EVENTS_PER_KEY; t++) {
            for (int k = 0; k < KEYS; k++) {
                double value = 50 + random.nextGaussian() + (t == SPIKE ? 40 : 0);
                records.add(new String[] {"host" + k, String.format(Locale.ROOT,
                        "{\"host\":\"host%d\",\"ts\":%d,\"cpu\":%.4f}", k, BASE + t * 60_000L, value)});
            }
        }
        KAFKA.produce(topics + "-in", records);
        return topics;
    }

    private Map<String, String> settings(String topics) {
        Map<String, String> settings = JobRuns.with(JobRuns.settings(KAFKA, topics, tmp),
                "mapping.key-field", "host", "mapping.timestamp-field", "ts", "mapping.numeric-fields", "cpu");
        settings.remove("mamba.model-dir");
        return settings;
    }

    /** Runs the job; per key, the flags by event index. */
    private Map<String, boolean[]> run(String topics, Map<String, String> settings, boolean expectPrediction)
            throws Exception {
        JobConfig config = AnomalyJob.configure(settings);
        StreamExecutionEnvironment env = JobRuns.environment(config, tmp.resolve("checkpoints"), 0);
        AnomalyJob.build(env, config, events -> events);
        env.execute();
        List<ConsumerRecord<String, String>> out = KAFKA.consume(topics + "-out",
                rs -> rs.size() >= KEYS * EVENTS_PER_KEY, Duration.ofSeconds(60));
        if (out.size() != KEYS * EVENTS_PER_KEY) {
            List<ConsumerRecord<String, String>> dead = KAFKA.consumeAll(topics + "-dead");
            throw new AssertionError(out.size() + " results for " + KEYS * EVENTS_PER_KEY + " events; " + dead.size()
                    + " dead letters" + (dead.isEmpty() ? "" : ", the first: " + dead.get(0).value()));
        }
        ObjectMapper json = new ObjectMapper();
        Map<String, boolean[]> flags = new HashMap<>();
        Set<String> seen = new HashSet<>();
        for (ConsumerRecord<String, String> record : out) {
            JsonNode node = json.readTree(record.value());
            String key = node.get("key").asText();
            int t = (int) ((node.get("timestamp").asLong() - BASE) / 60_000L);
            assertTrue(seen.add(key + "@" + t), "one result for " + key + " event " + t);
            double score = node.get("anomaly_score").asDouble();
            assertTrue(score >= 0 && score <= 1, record.value());
            assertEquals(expectPrediction, node.has("prediction"), record.value());
            flags.computeIfAbsent(key, k -> new boolean[EVENTS_PER_KEY])[t] = node.get("anomaly").asBoolean();
        }
        return flags;
    }

    private static void spikeFlaggedAndSteadyEventsNot(Map<String, boolean[]> flags, int from) {
        for (Map.Entry<String, boolean[]> key : flags.entrySet()) {
            assertTrue(key.getValue()[SPIKE], key.getKey() + ": the spike is flagged");
            int falseAlarms = 0;
            for (int t = from; t < SPIKE; t++) {
                falseAlarms += key.getValue()[t] ? 1 : 0;
            }
            assertTrue(falseAlarms <= (SPIKE - from) / 100, key.getKey() + ": " + falseAlarms
                    + " false alarms in " + (SPIKE - from) + " steady events (at most 1%)");
        }
    }

    @Test
    void withoutAModelTheShippedDefaultModelScores() throws Exception {
        String topics = topicsWithInput();
        spikeFlaggedAndSteadyEventsNot(run(topics, settings(topics), true), 20);
    }

    @Test
    void theRandomCutForestBaselineScoresWithoutAModel() throws Exception {
        String topics = topicsWithInput();
        Map<String, boolean[]> flags = run(topics, JobRuns.with(settings(topics), "anomaly.detector", "rcf",
                "rcf.trees", "30", "rcf.sample-size", "64"), false);
        spikeFlaggedAndSteadyEventsNot(flags, 64);
        assertFalse(flags.get("host0")[0], "a forest scores 0 before output-after");
    }

    @Test
    void theDefaultModelTakesOneNumericField() {
        String topics = KAFKA.topics("detectors-bad", 1);
        ConfigException e = assertThrows(ConfigException.class, () -> AnomalyJob.configure(
                JobRuns.with(settings(topics), "mapping.numeric-fields", "cpu;mem")));
        assertTrue(e.getMessage().contains("the default model scores one numeric field"), e.getMessage());
        ConfigException bad = assertThrows(ConfigException.class, () -> AnomalyJob.configure(
                JobRuns.with(settings(topics), "anomaly.quiet-period", "-1", "anomaly.seasonal.periods", "0")));
        assertTrue(bad.getMessage().contains("setting 'anomaly.quiet-period' is -1"), bad.getMessage());
        assertTrue(bad.getMessage().contains("periods must be at least 1"), bad.getMessage());
    }
}
