package io.flinkmamba.jobs.common;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.util.Base64;

/**
 * A record the job could not process, as written to the dead-letter topic: the reason, a detail, the source
 * position and the original bytes. A Flink POJO.
 */
public class DeadLetter {
    public String reason;
    public String detail;
    public String topic;
    public int partition;
    public long offset;
    public long kafkaTimestamp;
    public byte[] key;
    public byte[] value;

    public DeadLetter() {}

    public static DeadLetter of(DeadLetterReason reason, String detail, ConsumerRecord<byte[], byte[]> record) {
        return of(reason, detail, record.topic(), record.partition(), record.offset(), record.timestamp(), record.key(),
                record.value());
    }

    public static DeadLetter of(DeadLetterReason reason, String detail, SourceEvent event) {
        return of(reason, detail, event.topic, event.partition, event.offset, event.kafkaTimestamp, event.rawKey,
                event.rawValue);
    }

    private static DeadLetter of(DeadLetterReason reason, String detail, String topic, int partition, long offset,
                                 long kafkaTimestamp, byte[] key, byte[] value) {
        DeadLetter letter = new DeadLetter();
        letter.reason = reason.code();
        letter.detail = detail;
        letter.topic = topic;
        letter.partition = partition;
        letter.offset = offset;
        letter.kafkaTimestamp = kafkaTimestamp;
        letter.key = key;
        letter.value = value;
        return letter;
    }

    /** The dead-letter topic's JSON (documented in the README). */
    public String toJson(ObjectMapper json) {
        ObjectNode node = json.createObjectNode();
        node.put("reason", reason);
        node.put("detail", detail);
        node.put("topic", topic);
        node.put("partition", partition);
        node.put("offset", offset);
        node.put("kafka_timestamp", kafkaTimestamp);
        node.put("key_base64", key == null ? null : Base64.getEncoder().encodeToString(key));
        node.put("value_base64", value == null ? null : Base64.getEncoder().encodeToString(value));
        return node.toString();
    }
}
