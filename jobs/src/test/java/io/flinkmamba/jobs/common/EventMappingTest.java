package io.flinkmamba.jobs.common;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The parse of one record: duplicate fields and epoch timestamps in another unit are dead letters that say so. */
class EventMappingTest {
    private static final ObjectMapper JSON = EventMapping.jsonReader();
    private static final long NOW = Instant.parse("2024-05-01T12:00:00Z").toEpochMilli();

    private static EventMapping mapping(String timestampFormat) {
        return new EventMapping("host", "ts", timestampFormat, null, "UTC", List.of("cpu"), null, List.of(),
                1 << 20, 3_600_000L, 1024);
    }

    private static SourceEvent parse(String timestampFormat, String json) throws EventMapping.BadRecord {
        return mapping(timestampFormat).parse(new ConsumerRecord<>("in", 0, 7L, null, json.getBytes(StandardCharsets.UTF_8)),
                JSON, null, NOW);
    }

    private static EventMapping.BadRecord bad(String timestampFormat, String json) {
        return assertThrows(EventMapping.BadRecord.class, () -> parse(timestampFormat, json));
    }

    @Test
    void aFieldGivenTwiceIsADuplicateFieldDeadLetter() {
        EventMapping.BadRecord twice = bad("epoch-millis", "{\"host\":\"h\",\"ts\":1714564800000,\"cpu\":1,\"cpu\":2}");
        assertEquals(DeadLetterReason.DUPLICATE_FIELD, twice.reason());
        assertEquals("field 'cpu' appears more than once in one object", twice.getMessage());
        assertEquals(DeadLetterReason.DUPLICATE_FIELD,
                bad("epoch-millis", "{\"host\":\"h\",\"ts\":1714564800000,\"cpu\":1,\"x\":{\"a\":1,\"a\":1}}").reason());
    }

    @Test
    void anEpochNumberInAnotherUnitSaysWhichFormatToSet() {
        EventMapping.BadRecord seconds = bad("epoch-millis", "{\"host\":\"h\",\"ts\":1714564800,\"cpu\":1}");
        assertEquals(DeadLetterReason.BAD_TIMESTAMP, seconds.reason());
        assertEquals("timestamp 1714564800 looks like epoch seconds, not epoch millis; set mapping.timestamp-format: "
                + "epoch-seconds", seconds.getMessage());
        assertEquals("timestamp 1714564800000000 looks like epoch micros, not epoch millis; set "
                + "mapping.timestamp-format: epoch-micros",
                bad("epoch-millis", "{\"host\":\"h\",\"ts\":1714564800000000,\"cpu\":1}").getMessage());
        assertEquals("timestamp 1714564800000 looks like epoch millis, not epoch seconds; set "
                + "mapping.timestamp-format: epoch-millis",
                bad("epoch-seconds", "{\"host\":\"h\",\"ts\":1714564800000,\"cpu\":1}").getMessage());
    }

    @Test
    void everyEpochUnitReadsToMillis() throws Exception {
        long millis = Instant.parse("2024-05-01T11:00:00.123Z").toEpochMilli();
        assertEquals(millis, parse("epoch-seconds", "{\"host\":\"h\",\"ts\":1714561200.123,\"cpu\":1}").timestamp);
        assertEquals(millis, parse("epoch-millis", "{\"host\":\"h\",\"ts\":1714561200123,\"cpu\":1}").timestamp);
        assertEquals(millis, parse("epoch-micros", "{\"host\":\"h\",\"ts\":1714561200123456,\"cpu\":1}").timestamp);
        assertEquals(millis, parse("epoch-nanos", "{\"host\":\"h\",\"ts\":1714561200123456789,\"cpu\":1}").timestamp);
        // Small synthetic clocks are no plausible time in any unit: read as configured.
        assertEquals(5000, parse("epoch-millis", "{\"host\":\"h\",\"ts\":5000,\"cpu\":1}").timestamp);
    }
}
