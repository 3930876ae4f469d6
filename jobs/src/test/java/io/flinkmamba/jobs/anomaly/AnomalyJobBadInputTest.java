package io.flinkmamba.jobs.anomaly;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkmamba.event.EventModels;
import io.flinkmamba.event.EventSchema;
import io.flinkmamba.jobs.JobRuns;
import io.flinkmamba.jobs.KafkaTestSupport;
import io.flinkmamba.jobs.common.DeadLetter;
import io.flinkmamba.jobs.common.JobConfig;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad records of every kind and size between good ones, through the real anomaly job (bounded, no restarts):
 * the job finishes, every good record's result is committed, and every bad record is exactly one dead letter
 * with its reason, within the dead-letter size limit, with its original length and SHA-256.
 */
class AnomalyJobBadInputTest {
    @RegisterExtension
    static final KafkaTestSupport KAFKA = new KafkaTestSupport();
    static final long BASE = Instant.parse("2024-05-01T00:00:00Z").toEpochMilli();
    static final int KEYS = 3;
    static final int STEPS = 20;

    @TempDir
    static Path tmp;
    static Path model;

    @BeforeAll
    static void model() throws Exception {
        model = tmp.resolve("model");
        EventModels.random(EventSchema.numeric("cpu", "mem"), 8, 1, 4, 3, model);
    }

    /** Input records in offset order; the bad ones' expected reasons by offset. */
    static final class Input {
        final List<byte[][]> records = new ArrayList<>();
        final TreeSet<Long> goodOffsets = new TreeSet<>();
        final Map<Long, String> badReasons = new TreeMap<>();

        void good(int key, int step) {
            goodOffsets.add((long) records.size());
            add("h" + key, String.format(Locale.ROOT, "{\"host\":\"h%d\",\"ts\":%d,\"cpu\":%d.25,\"mem\":%d}", key,
                    BASE + step * 1000L, step % 5, key).getBytes(StandardCharsets.UTF_8));
        }

        void bad(String reason, byte[] value) {
            badReasons.put((long) records.size(), reason);
            add("h0", value);
        }

        void bad(String reason, String value) {
            bad(reason, value.getBytes(StandardCharsets.UTF_8));
        }

        private void add(String key, byte[] value) {
            records.add(new byte[][] {key.getBytes(StandardCharsets.UTF_8), value});
        }

        /** Good events of every key per step, and {@code bad} (one bad record each) spread over the steps. */
        void interleave(List<Runnable> bad) {
            int b = 0;
            for (int step = 0; step < STEPS; step++) {
                for (int key = 0; key < KEYS; key++) {
                    good(key, step);
                }
                for (int i = 0; i < (bad.size() + STEPS - 1) / STEPS && b < bad.size(); i++) {
                    bad.get(b++).run();
                }
            }
        }
    }

    /** Runs the job over the input to its end; returns the committed results and dead letters. */
    private static List<List<ConsumerRecord<String, String>>> run(String prefix, Input input, int inputMessageBytes,
                                                                  String... settings) throws Exception {
        String topics = KAFKA.topics(prefix, 1);
        if (inputMessageBytes > 0) {
            KAFKA.allowMessageBytes(topics + "-in", inputMessageBytes);
        }
        KAFKA.produceBytes(topics + "-in", input.records);
        JobConfig config = AnomalyJob.configure(JobRuns.with(JobRuns.with(JobRuns.settings(KAFKA, topics, model),
                "mapping.key-field", "host", "mapping.timestamp-field", "ts", "mapping.numeric-fields", "cpu;mem"),
                settings));
        StreamExecutionEnvironment env = JobRuns.environment(config, tmp.resolve("cp-" + topics), 0);
        AnomalyJob.build(env, config, s -> s);
        env.execute();
        return List.of(KAFKA.consumeAll(topics + "-out"), KAFKA.consumeAll(topics + "-dead"));
    }

    private static void assertEveryGoodRecordHasOneResult(Input input, List<ConsumerRecord<String, String>> results)
            throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<Long> offsets = new ArrayList<>();
        for (ConsumerRecord<String, String> result : results) {
            offsets.add(json.readTree(result.value()).get("offset").asLong());
        }
        offsets.sort(null);
        assertEquals(new ArrayList<>(input.goodOffsets), offsets, "one committed result per good record");
    }

    private static Map<Long, JsonNode> byOffset(List<ConsumerRecord<String, String>> deadLetters) throws Exception {
        ObjectMapper json = new ObjectMapper();
        Map<Long, JsonNode> letters = new TreeMap<>();
        for (ConsumerRecord<String, String> record : deadLetters) {
            JsonNode letter = json.readTree(record.value());
            assertEquals(null, letters.put(letter.get("offset").asLong(), letter), "one dead letter per bad record");
        }
        return letters;
    }

    private static byte[] text(int bytes, long seed) {
        Random random = new Random(seed);
        byte[] value = new byte[bytes];
        for (int i = 0; i < bytes; i++) {
            value[i] = (byte) ('a' + random.nextInt(26));
        }
        return value;
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    @Test
    void largeBadRecordsAreDeadLettersWithinTheLimitAndEveryGoodResultIsCommitted() throws Exception {
        int limit = 100 * 1024;
        Input input = new Input();
        List<byte[]> bad = new ArrayList<>();
        List<Runnable> badRecords = new ArrayList<>();
        for (double times : new double[] {0.5, 1, 1.5, 10}) {
            byte[] value = text((int) (times * limit), bad.size());
            bad.add(value);
            badRecords.add(() -> input.bad("unparseable", value));
        }
        input.interleave(badRecords);

        List<List<ConsumerRecord<String, String>>> out = run("large", input, 0,
                "dead-letters.max-original-bytes", "100kb");
        assertEveryGoodRecordHasOneResult(input, out.get(0));

        Map<Long, JsonNode> letters = byOffset(out.get(1));
        assertEquals(input.badReasons.keySet(), letters.keySet());
        int i = 0;
        for (Map.Entry<Long, JsonNode> entry : letters.entrySet()) {
            JsonNode letter = entry.getValue();
            byte[] original = bad.get(i++);
            assertEquals("unparseable", letter.get("reason").asText());
            assertEquals(original.length, letter.get("value_length").asInt());
            assertEquals(sha256(original), letter.get("value_sha256").asText());
            byte[] kept = Base64.getDecoder().decode(letter.get("value_base64").asText());
            assertArrayEquals(Arrays.copyOf(original, Math.min(original.length, limit)), kept);
            assertEquals(original.length > limit, letter.get("truncated").asBoolean());
            assertEquals("h0", new String(Base64.getDecoder().decode(letter.get("key_base64").asText()), StandardCharsets.UTF_8));
        }
        for (ConsumerRecord<String, String> record : out.get(1)) {
            long size = record.key().length() + record.value().length();
            assertTrue(size <= DeadLetter.maxRecordBytes(limit), size + " bytes, more than the limit's "
                    + DeadLetter.maxRecordBytes(limit));
        }
    }

    @Test
    void aMixOfBadRecordsIsDeadLetteredAndEveryGoodResultIsCommitted() throws Exception {
        String ts = String.valueOf(BASE + 500);
        Input input = new Input();
        List<Runnable> bad = new ArrayList<>();
        bad.add(() -> input.bad("unparseable", "{\"host\": \"h0\", not json"));
        bad.add(() -> input.bad("unparseable", ""));
        bad.add(() -> input.bad("unparseable", "[1, 2, 3]"));
        bad.add(() -> input.bad("wrong_type", "{\"host\":\"h0\",\"ts\":" + ts + ",\"cpu\":\"high\",\"mem\":2}"));
        bad.add(() -> input.bad("wrong_type", "{\"host\":{\"name\":\"h0\"},\"ts\":" + ts + ",\"cpu\":1,\"mem\":2}"));
        bad.add(() -> input.bad("wrong_type", "{\"host\":\"h0\",\"ts\":\"noon\",\"cpu\":1,\"mem\":2}"));
        bad.add(() -> input.bad("missing_field", "{\"host\":\"h0\",\"ts\":" + ts + ",\"cpu\":1}"));
        bad.add(() -> input.bad("missing_key", "{\"ts\":" + ts + ",\"cpu\":1,\"mem\":2}"));
        bad.add(() -> input.bad("not_finite", "{\"host\":\"h0\",\"ts\":" + ts + ",\"cpu\":NaN,\"mem\":2}"));
        bad.add(() -> input.bad("not_finite", "{\"host\":\"h0\",\"ts\":" + ts + ",\"cpu\":-Infinity,\"mem\":2}"));
        bad.add(() -> input.bad("duplicate_field", "{\"host\":\"h0\",\"ts\":" + ts + ",\"cpu\":1,\"mem\":2,\"cpu\":3}"));
        bad.add(() -> input.bad("bad_timestamp", "{\"host\":\"h0\",\"ts\":" + (BASE / 1000) + ",\"cpu\":1,\"mem\":2}"));
        bad.add(() -> input.bad("unparseable", "{\"host\":\"h0\",\"ts\":" + ts + ",\"cpu\":1,\"mem\":2,\"deep\":"
                + "[".repeat(5000) + "]".repeat(5000) + "}"));
        Random random = new Random(3);
        byte[] binary = new byte[4096];
        random.nextBytes(binary);
        binary[0] = (byte) 0xff;
        bad.add(() -> input.bad("unparseable", binary));
        bad.add(() -> input.bad("unparseable", new byte[] {'{', '"', 'h', 'o', 's', 't', '"', ':', '"', (byte) 0xc3, '"', '}'}));
        // 10 MB on a topic that takes 12 MB: more than limits.max-record-bytes (1 MiB by default).
        byte[] huge = ("{\"host\":\"h0\",\"ts\":" + ts + ",\"cpu\":1,\"mem\":2,\"pad\":\"" + "x".repeat(10 << 20) + "\"}")
                .getBytes(StandardCharsets.UTF_8);
        bad.add(() -> input.bad("oversized", huge));
        input.interleave(bad);

        List<List<ConsumerRecord<String, String>>> out = run("mix", input, 12 << 20);
        assertEveryGoodRecordHasOneResult(input, out.get(0));
        Map<Long, String> reasons = new TreeMap<>();
        byOffset(out.get(1)).forEach((offset, letter) -> reasons.put(offset, letter.get("reason").asText()));
        assertEquals(input.badReasons, reasons);
        JsonNode hugeLetter = byOffset(out.get(1)).get(input.badReasons.entrySet().stream()
                .filter(e -> e.getValue().equals("oversized")).findFirst().orElseThrow().getKey());
        assertEquals(huge.length, hugeLetter.get("value_length").asInt());
        assertEquals(sha256(huge), hugeLetter.get("value_sha256").asText());
        assertEquals(256 * 1024, Base64.getDecoder().decode(hugeLetter.get("value_base64").asText()).length);
    }
}
