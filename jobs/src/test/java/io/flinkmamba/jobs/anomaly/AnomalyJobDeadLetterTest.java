package io.flinkmamba.jobs.anomaly;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkmamba.event.EventModels;
import io.flinkmamba.event.EventSchema;
import io.flinkmamba.jobs.JobRuns;
import io.flinkmamba.jobs.KafkaTestSupport;
import io.flinkmamba.jobs.common.DeadLetterReason;
import io.flinkmamba.jobs.common.JobConfig;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One running (unbounded) anomaly job fed each class of bad record between good events: every bad record is a
 * dead letter with the right reason, its source offset and its original bytes, and the job keeps running and
 * scoring the good events after it.
 */
class AnomalyJobDeadLetterTest {
    @RegisterExtension
    static final KafkaTestSupport KAFKA = new KafkaTestSupport();
    static final long BASE = Instant.parse("2024-01-01T00:00:00Z").toEpochMilli();

    @TempDir
    static Path tmp;
    static String topics;
    static JobClient job;
    static final Map<DeadLetterReason, String> BAD = new EnumMap<>(DeadLetterReason.class);
    static final Map<DeadLetterReason, JsonNode> LETTERS = new EnumMap<>(DeadLetterReason.class);
    static int goodEvents;
    static List<ConsumerRecord<String, String>> results;

    private static String good(int t) {
        goodEvents++;
        return String.format(Locale.ROOT, "{\"host\":\"h\",\"ts\":\"%s\",\"cpu\":%d.5,\"mem\":2}", Instant.ofEpochMilli(BASE + t * 1000L), t % 7);
    }

    @BeforeAll
    static void runJobWithBadRecords() throws Exception {
        Path model = tmp.resolve("model");
        EventModels.random(EventSchema.numeric("cpu", "mem"), 8, 1, 4, 3, model);
        topics = KAFKA.topics("dead", 1);
        // Each bad record is timestamped just after the good event before it, so that none is late by accident.
        String ts = "%TS%";
        BAD.put(DeadLetterReason.UNPARSEABLE, "{\"host\": \"h\", not json");
        BAD.put(DeadLetterReason.DUPLICATE_FIELD, "{\"host\":\"h\",\"ts\":" + ts + ",\"cpu\":1,\"mem\":2,\"mem\":3}");
        BAD.put(DeadLetterReason.OVERSIZED, "{\"host\":\"h\",\"ts\":" + ts + ",\"cpu\":1,\"mem\":2,\"pad\":\"" + "x".repeat(600) + "\"}");
        BAD.put(DeadLetterReason.MISSING_KEY, "{\"host\":\"\",\"ts\":" + ts + ",\"cpu\":1,\"mem\":2}");
        BAD.put(DeadLetterReason.MISSING_FIELD, "{\"host\":\"h\",\"ts\":" + ts + ",\"cpu\":1}");
        BAD.put(DeadLetterReason.WRONG_TYPE, "{\"host\":\"h\",\"ts\":" + ts + ",\"cpu\":\"high\",\"mem\":2}");
        BAD.put(DeadLetterReason.NOT_FINITE, "{\"host\":\"h\",\"ts\":" + ts + ",\"cpu\":NaN,\"mem\":2}");
        BAD.put(DeadLetterReason.BAD_TIMESTAMP, "{\"host\":\"h\",\"ts\":\"yesterday\",\"cpu\":1,\"mem\":2}");
        BAD.put(DeadLetterReason.FUTURE_TIMESTAMP, "{\"host\":\"h\",\"ts\":\"" + Instant.now().plus(Duration.ofDays(2))
                + "\",\"cpu\":1,\"mem\":2}");
        // Finite as a double, infinite as the model's float input: the operator rejects it.
        BAD.put(DeadLetterReason.REJECTED, "{\"host\":\"h\",\"ts\":" + ts + ",\"cpu\":1e300,\"mem\":2}");

        List<String[]> first = new ArrayList<>();
        int t = 0;
        for (Map.Entry<DeadLetterReason, String> bad : BAD.entrySet()) {
            first.add(new String[] {"h", good(t)});
            bad.setValue(bad.getValue().replace(ts, "\"" + Instant.ofEpochMilli(BASE + t * 1000L + 500) + "\""));
            first.add(new String[] {"h", bad.getValue()});
            t++;
        }
        for (int i = 0; i < 20; i++) {
            first.add(new String[] {"h", good(t++)});
        }
        KAFKA.produce(topics + "-in", first);

        JobConfig config = AnomalyJob.configure(JobRuns.with(JobRuns.settings(KAFKA, topics, model),
                "kafka.bounded", "false", "mapping.key-field", "host", "mapping.timestamp-field", "ts",
                "mapping.timestamp-format", "iso-8601", "mapping.numeric-fields", "cpu;mem",
                "limits.max-record-bytes", "400", "watermarks.out-of-orderness", "1s", "watermarks.idleness", "0s"));
        StreamExecutionEnvironment env = JobRuns.environment(config, tmp.resolve("cp"), 0);
        AnomalyJob.build(env, config, s -> s);
        job = env.executeAsync();

        // Results appear once the watermark has passed their events: then an event an hour older is late.
        int firstGood = goodEvents;
        KAFKA.consume(topics + "-out", r -> r.size() >= firstGood - 2, Duration.ofSeconds(120));
        String late = String.format(Locale.ROOT, "{\"host\":\"h\",\"ts\":\"%s\",\"cpu\":1,\"mem\":2}",
                Instant.ofEpochMilli(BASE - 3_600_000L));
        BAD.put(DeadLetterReason.LATE, late);
        List<String[]> second = new ArrayList<>();
        second.add(new String[] {"h", late});
        for (int i = 0; i < 10; i++) {
            second.add(new String[] {"h", good(t++)});
        }
        KAFKA.produce(topics + "-in", second);

        ObjectMapper json = new ObjectMapper();
        for (ConsumerRecord<String, String> r : KAFKA.consume(topics + "-dead", r -> r.size() >= BAD.size(),
                Duration.ofSeconds(120))) {
            JsonNode letter = json.readTree(r.value());
            LETTERS.put(DeadLetterReason.valueOf(letter.get("reason").asText().toUpperCase(Locale.ROOT)), letter);
        }
        // All good events but the last few (which wait for a later watermark) have results.
        results = KAFKA.consume(topics + "-out", r -> r.size() >= goodEvents - 2, Duration.ofSeconds(120));
    }

    @AfterAll
    static void cancel() throws Exception {
        if (job != null) {
            job.cancel().get(60, TimeUnit.SECONDS);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DeadLetterReason.class, names = "UNKNOWN_CATEGORY", mode = EnumSource.Mode.EXCLUDE)
    void badRecordIsADeadLetterWithItsReasonOffsetAndBytes(DeadLetterReason reason) {
        JsonNode letter = LETTERS.get(reason);
        assertNotNull(letter, "no dead letter " + reason.code() + " among " + LETTERS.keySet());
        assertEquals(reason.code(), letter.get("reason").asText());
        assertEquals(BAD.get(reason), new String(Base64.getDecoder().decode(letter.get("value_base64").asText()),
                StandardCharsets.UTF_8));
        assertEquals(topics + "-in", letter.get("topic").asText());
        assertEquals(0, letter.get("partition").asInt());
        assertTrue(letter.get("offset").asLong() >= 0);
        assertTrue(!letter.get("detail").asText().isBlank());
    }

    @Test
    void theJobKeepsRunningAndScoresTheGoodEvents() throws Exception {
        assertEquals(JobStatus.RUNNING, job.getJobStatus().get(30, TimeUnit.SECONDS));
        assertTrue(results.size() >= goodEvents - 2, results.size() + " results for " + goodEvents + " good events");
        assertEquals(BAD.size(), LETTERS.size());
        assertTrue(LETTERS.get(DeadLetterReason.REJECTED).get("detail").asText().contains("cpu"));
    }
}
