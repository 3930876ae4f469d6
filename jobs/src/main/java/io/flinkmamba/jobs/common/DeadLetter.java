package io.flinkmamba.jobs.common;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;

/**
 * A record the job could not process, as written to the dead-letter topic: the reason, a detail, the source
 * position and the original key and value, each cut to {@code dead-letters.max-original-bytes} with its
 * original length and SHA-256, so that a dead letter always fits the dead-letter sink's request limit. A
 * Flink POJO.
 */
public class DeadLetter {
    /** Longer details (which may quote the record) are cut: the original bytes are in the letter anyway. */
    static final int MAX_DETAIL_CHARS = 1000;
    /**
     * Room in a dead-letter record for all but the kept bytes: the detail (at most {@link #MAX_DETAIL_CHARS}
     * chars, up to 6 bytes each as escaped JSON), the source topic name (at most 249 chars), the other fields,
     * and Kafka's record and batch headers.
     */
    static final int ENVELOPE_BYTES = 16 * 1024;

    public String reason;
    public String detail;
    public String topic;
    public int partition;
    public long offset;
    public long kafkaTimestamp;
    /** The key's first bytes (null when the record had no key). */
    public byte[] key;
    /** The original key's length, -1 when the record had no key. */
    public int keyLength;
    public String keySha256;
    /** The value's first bytes (null when the record had no value). */
    public byte[] value;
    /** The original value's length, -1 when the record had no value. */
    public int valueLength;
    public String valueSha256;

    public DeadLetter() {}

    public static DeadLetter of(DeadLetterReason reason, String detail, ConsumerRecord<byte[], byte[]> record,
                                int maxOriginalBytes) {
        return of(reason, detail, record.topic(), record.partition(), record.offset(), record.timestamp(), record.key(),
                record.value(), maxOriginalBytes);
    }

    public static DeadLetter of(DeadLetterReason reason, String detail, SourceEvent event, int maxOriginalBytes) {
        return of(reason, detail, event.topic, event.partition, event.offset, event.kafkaTimestamp, event.rawKey,
                event.rawValue, maxOriginalBytes);
    }

    private static DeadLetter of(DeadLetterReason reason, String detail, String topic, int partition, long offset,
                                 long kafkaTimestamp, byte[] key, byte[] value, int maxOriginalBytes) {
        DeadLetter letter = new DeadLetter();
        letter.reason = reason.code();
        letter.detail = detail == null || detail.length() <= MAX_DETAIL_CHARS ? detail
                : detail.substring(0, MAX_DETAIL_CHARS) + "...";
        letter.topic = topic;
        letter.partition = partition;
        letter.offset = offset;
        letter.kafkaTimestamp = kafkaTimestamp;
        letter.key = prefix(key, maxOriginalBytes);
        letter.keyLength = key == null ? -1 : key.length;
        letter.keySha256 = sha256(key);
        letter.value = prefix(value, maxOriginalBytes);
        letter.valueLength = value == null ? -1 : value.length;
        letter.valueSha256 = sha256(value);
        return letter;
    }

    /**
     * The largest dead-letter record for a {@code max-original-bytes} limit: the Kafka record key (the kept
     * key bytes) and the JSON value, with the kept key and value in base64 (4 bytes per 3), plus the envelope.
     */
    public static long maxRecordBytes(long maxOriginalBytes) {
        long base64 = 4 * ((maxOriginalBytes + 2) / 3);
        return maxOriginalBytes + 2 * base64 + ENVELOPE_BYTES;
    }

    public boolean truncated() {
        return (key != null && key.length < keyLength) || (value != null && value.length < valueLength);
    }

    /** The dead-letter topic's JSON (documented in docs/reliability.md). */
    public String toJson(ObjectMapper json) {
        ObjectNode node = json.createObjectNode();
        node.put("reason", reason);
        node.put("detail", detail);
        node.put("topic", topic);
        node.put("partition", partition);
        node.put("offset", offset);
        node.put("kafka_timestamp", kafkaTimestamp);
        putOriginal(node, "key", key, keyLength, keySha256);
        putOriginal(node, "value", value, valueLength, valueSha256);
        node.put("truncated", truncated());
        return node.toString();
    }

    private static void putOriginal(ObjectNode node, String name, byte[] kept, int length, String sha256) {
        node.put(name + "_base64", kept == null ? null : Base64.getEncoder().encodeToString(kept));
        if (kept == null) {
            node.putNull(name + "_length");
        } else {
            node.put(name + "_length", length);
        }
        node.put(name + "_sha256", sha256);
    }

    private static byte[] prefix(byte[] bytes, int max) {
        return bytes == null || bytes.length <= max ? bytes : Arrays.copyOf(bytes, max);
    }

    private static String sha256(byte[] bytes) {
        if (bytes == null) {
            return null;
        }
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
