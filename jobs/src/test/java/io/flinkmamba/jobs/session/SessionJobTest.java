package io.flinkmamba.jobs.session;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkmamba.jobs.JobRuns;
import io.flinkmamba.jobs.KafkaTestSupport;
import io.flinkmamba.jobs.common.JobConfig;
import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.model.ModelWriter;
import io.flinkmamba.model.RandomModels;
import io.flinkmamba.safetensors.DType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SessionJobTest {
    @RegisterExtension
    static final KafkaTestSupport KAFKA = new KafkaTestSupport();
    static final List<String> CATEGORIES = List.of("login", "view", "search", "cart", "buy", "logout");
    static final long BASE = 1_700_000_000_000L;

    @TempDir
    static Path tmp;
    static Path model;

    @BeforeAll
    static void writeModel() throws Exception {
        model = tmp.resolve("model");
        ModelWriter.write(RandomModels.create(RandomModels.config(LayerType.MAMBA1, 16, 1, 8, 4), 3, 0.5f), model, DType.F32);
    }

    @Test
    void predictsNextEventsMarksSessionsAndEndsThemAfterTheGap() throws Exception {
        String topics = KAFKA.topics("session", 2);
        Random random = new Random(5);
        List<String[]> records = new ArrayList<>();
        int events = 0;
        for (int user = 0; user < 3; user++) {
            for (int session = 0; session < 2; session++) {
                long start = BASE + session * 3_600_000L + user * 1000L;
                for (int i = 0; i < 4 + user; i++) {
                    records.add(new String[] {"u" + user, String.format("{\"user\":\"u%d\",\"ts\":%d,\"type\":\"%s\"}",
                            user, start + i * 20_000L, CATEGORIES.get(random.nextInt(CATEGORIES.size())))});
                    events++;
                }
            }
        }
        records.add(new String[] {"u0", String.format("{\"user\":\"u0\",\"ts\":%d,\"type\":\"teleport\"}", BASE + 1)});
        // In time order, as a live stream arrives: else a user's early events could fall behind the watermark.
        records.sort(java.util.Comparator.comparingLong(r -> Long.parseLong(r[1].replaceAll(".*\"ts\":(\\d+).*", "$1"))));
        KAFKA.produce(topics + "-in", records);

        Map<String, String> settings = JobRuns.with(JobRuns.settings(KAFKA, topics, model),
                "mapping.key-field", "user", "mapping.timestamp-field", "ts", "mapping.categorical-field", "type",
                "mapping.categories", String.join(";", CATEGORIES), "mamba.session.gap", "10min",
                "session.top-k", "3", "session.embedding", "true");
        JobConfig config = SessionJob.configure(settings);
        StreamExecutionEnvironment env = JobRuns.environment(config, tmp.resolve("cp-" + topics), 0);
        SessionJob.build(env, config, s -> s);
        env.execute();

        ObjectMapper json = new ObjectMapper();

        List<JsonNode> out = new ArrayList<>();
        for (ConsumerRecord<String, String> r : KAFKA.consumeAll(topics + "-out")) {
            out.add(json.readTree(r.value()));
        }
        List<JsonNode> results = out.stream().filter(n -> n.get("type").asText().equals("event")).toList();
        List<JsonNode> ends = out.stream().filter(n -> n.get("type").asText().equals("session_end")).toList();
        assertEquals(events, results.size());
        assertEquals(6, ends.size(), "two sessions per user, each ended after the gap (or the end of input)");
        List<ConsumerRecord<String, String>> dead = KAFKA.consumeAll(topics + "-dead");
        assertEquals(1, dead.size());
        JsonNode letter = json.readTree(dead.get(0).value());
        assertEquals("unknown_category", letter.get("reason").asText());
        assertTrue(letter.get("detail").asText().contains("teleport"), letter.toString());

        Map<String, JsonNode> previous = new HashMap<>();
        int starts = 0;
        for (JsonNode result : results) {
            String user = result.get("key").asText();
            JsonNode next = result.get("next");
            assertEquals(3, next.size());
            assertTrue(next.get(0).get("probability").asDouble() >= next.get(1).get("probability").asDouble());
            assertEquals(16, result.get("embedding").size());
            JsonNode before = previous.put(user, result);
            boolean start = result.get("session_start").asBoolean();
            if (start) {
                starts++;
                assertTrue(result.get("surprise").isNull());
                assertTrue(before == null || result.get("timestamp").asLong() - before.get("timestamp").asLong() > 600_000L);
            } else {
                assertTrue(before.get("timestamp").asLong() < result.get("timestamp").asLong());
                double surprise = result.get("surprise").asDouble();
                assertTrue(surprise > 0 && Double.isFinite(surprise));
                // The surprise is -ln of the probability the previous result gave this event, when it listed it.
                for (JsonNode candidate : before.get("next")) {
                    if (candidate.get("event").asText().equals(result.get("event").asText())) {
                        assertEquals(-Math.log(candidate.get("probability").asDouble()), surprise, 1e-4);
                    }
                }
            }
        }
        assertEquals(6, starts);
        for (JsonNode end : ends) {
            assertEquals(end.get("last_event_timestamp").asLong() + 600_000L, end.get("timestamp").asLong());
            assertFalse(end.get("key").asText().isEmpty());
        }
    }
}
