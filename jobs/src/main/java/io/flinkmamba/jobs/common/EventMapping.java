package io.flinkmamba.jobs.common;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.io.IOException;
import java.io.Serializable;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.TemporalAccessor;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a JSON input record maps to an event: the key field, the timestamp field and its format, the numeric
 * fields, the categorical field and its vocabulary, and the size and clock limits. {@link #parse} turns a
 * record into a {@link SourceEvent} or says, with a {@link BadRecord}, why it cannot.
 *
 * @param categories the categorical field's vocabulary in index order (empty without a categorical field)
 */
public record EventMapping(String keyField, String timestampField, String timestampFormat, String timestampPattern,
                           String timestampZone, List<String> numericFields, String categoricalField,
                           List<String> categories, int maxRecordBytes, long maxFutureMillis,
                           int deadLetterOriginalBytes) implements Serializable {
    /** Epoch values whose seconds fall in this range (2001-09-09 to 5138) are plausible event times. */
    private static final BigDecimal PLAUSIBLE_SECONDS_FROM = BigDecimal.valueOf(1_000_000_000L);
    private static final BigDecimal PLAUSIBLE_SECONDS_BELOW = BigDecimal.valueOf(100_000_000_000L);
    private static final Pattern DUPLICATE_FIELD = Pattern.compile("Duplicate field '(.*)' for");

    /** The epoch formats, by 3 decimal digits per step from seconds. */
    static final List<String> EPOCH_UNITS = List.of("epoch-seconds", "epoch-millis", "epoch-micros", "epoch-nanos");

    /** A record that cannot become an event. */
    public static final class BadRecord extends Exception {
        private final DeadLetterReason reason;

        BadRecord(DeadLetterReason reason, String detail) {
            super(detail, null, false, false);
            this.reason = reason;
        }

        public DeadLetterReason reason() {
            return reason;
        }
    }

    public static EventMapping from(JobConfig config, List<String> numericFields, String categoricalField,
                                    List<String> categories) {
        return new EventMapping(config.get(JobOptions.KEY_FIELD), config.get(JobOptions.TIMESTAMP_FIELD),
                config.get(JobOptions.TIMESTAMP_FORMAT), config.get(JobOptions.TIMESTAMP_PATTERN),
                config.get(JobOptions.TIMESTAMP_ZONE), List.copyOf(numericFields), categoricalField,
                List.copyOf(categories), config.get(JobOptions.MAX_RECORD_BYTES), config.get(JobOptions.MAX_FUTURE).toMillis(),
                (int) config.get(JobOptions.DEAD_LETTER_MAX_ORIGINAL).getBytes());
    }

    /**
     * A JSON reader that accepts NaN and Infinity literals, so they are reported as such, not as unparseable,
     * and fails on a field given twice in one object (which one would count is a guess).
     */
    public static ObjectMapper jsonReader() {
        return JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
                .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY).build();
    }

    /** Parses one record; {@code nowMillis} is the wall clock for the future-timestamp limit. */
    public SourceEvent parse(ConsumerRecord<byte[], byte[]> record, ObjectMapper json, DateTimeFormatter pattern, long nowMillis)
            throws BadRecord {
        byte[] bytes = record.value();
        if (bytes == null || bytes.length == 0) {
            throw new BadRecord(DeadLetterReason.UNPARSEABLE, "empty record");
        }
        if (bytes.length > maxRecordBytes) {
            throw new BadRecord(DeadLetterReason.OVERSIZED,
                    bytes.length + " bytes, more than limits.max-record-bytes " + maxRecordBytes);
        }
        JsonNode root;
        try {
            root = json.readTree(bytes);
        } catch (MismatchedInputException e) {
            // With FAIL_ON_READING_DUP_TREE_KEY the only mismatch a tree read reports is a duplicate field.
            Matcher field = DUPLICATE_FIELD.matcher(e.getOriginalMessage());
            throw new BadRecord(DeadLetterReason.DUPLICATE_FIELD, field.find()
                    ? "field '" + field.group(1) + "' appears more than once in one object" : e.getOriginalMessage());
        } catch (IOException e) {
            throw new BadRecord(DeadLetterReason.UNPARSEABLE, "not JSON: " + (e instanceof com.fasterxml.jackson.core.JsonProcessingException p ? p.getOriginalMessage() : e.getMessage()));
        }
        if (root == null || !root.isObject()) {
            throw new BadRecord(DeadLetterReason.UNPARSEABLE, "not a JSON object");
        }
        SourceEvent event = new SourceEvent();
        event.key = key(root);
        event.timestamp = timestamp(root, pattern);
        if (event.timestamp - nowMillis > maxFutureMillis) {
            throw new BadRecord(DeadLetterReason.FUTURE_TIMESTAMP, "timestamp " + Instant.ofEpochMilli(event.timestamp)
                    + " is more than limits.max-future ahead of the clock (" + Instant.ofEpochMilli(nowMillis) + ")");
        }
        event.numeric = new double[numericFields.size()];
        for (int i = 0; i < numericFields.size(); i++) {
            event.numeric[i] = number(root, numericFields.get(i));
        }
        if (categoricalField != null) {
            JsonNode value = present(root, categoricalField);
            if (!value.isTextual() && !value.isIntegralNumber()) {
                throw new BadRecord(DeadLetterReason.WRONG_TYPE, "field '" + categoricalField + "' is " + type(value)
                        + ", expected a string");
            }
            event.category = value.asText();
            event.categoryIndex = categories.indexOf(event.category);
            if (event.categoryIndex < 0) {
                throw new BadRecord(DeadLetterReason.UNKNOWN_CATEGORY, "field '" + categoricalField + "' is '"
                        + event.category + "', not in the model's vocabulary of " + categories.size());
            }
        }
        event.topic = record.topic();
        event.partition = record.partition();
        event.offset = record.offset();
        event.kafkaTimestamp = record.timestamp();
        event.rawKey = record.key();
        event.rawValue = bytes;
        return event;
    }

    private String key(JsonNode root) throws BadRecord {
        JsonNode value = root.get(keyField);
        if (value == null || value.isNull()) {
            throw new BadRecord(DeadLetterReason.MISSING_KEY, "key field '" + keyField + "' is missing");
        }
        if (!value.isTextual() && !value.isIntegralNumber()) {
            throw new BadRecord(DeadLetterReason.WRONG_TYPE, "key field '" + keyField + "' is " + type(value)
                    + ", expected a string or an integer");
        }
        String key = value.asText();
        if (key.isBlank()) {
            throw new BadRecord(DeadLetterReason.MISSING_KEY, "key field '" + keyField + "' is empty");
        }
        return key;
    }

    private long timestamp(JsonNode root, DateTimeFormatter pattern) throws BadRecord {
        JsonNode value = present(root, timestampField);
        switch (timestampFormat) {
            case "epoch-seconds", "epoch-millis", "epoch-micros", "epoch-nanos" -> {
                if (!value.isNumber()) {
                    throw new BadRecord(DeadLetterReason.WRONG_TYPE, "timestamp field '" + timestampField + "' is "
                            + type(value) + ", expected a number (" + timestampFormat + ")");
                }
                int digitsPerSecond = EPOCH_UNITS.indexOf(timestampFormat) * 3;
                BigDecimal seconds = value.decimalValue().movePointLeft(digitsPerSecond);
                checkUnit(value, seconds, digitsPerSecond);
                try {
                    return seconds.movePointRight(3).setScale(0, java.math.RoundingMode.FLOOR).longValueExact();
                } catch (ArithmeticException e) {
                    throw new BadRecord(DeadLetterReason.BAD_TIMESTAMP, "timestamp " + value + " is out of range");
                }
            }
            default -> {
                if (!value.isTextual()) {
                    throw new BadRecord(DeadLetterReason.WRONG_TYPE, "timestamp field '" + timestampField + "' is "
                            + type(value) + ", expected a string (" + timestampFormat + ")");
                }
                try {
                    if (timestampFormat.equals("iso-8601")) {
                        return DateTimeFormatter.ISO_DATE_TIME.parse(value.asText(), this::instant).toEpochMilli();
                    }
                    return pattern.parse(value.asText(), this::instant).toEpochMilli();
                } catch (DateTimeParseException e) {
                    throw new BadRecord(DeadLetterReason.BAD_TIMESTAMP, "timestamp '" + value.asText()
                            + "' does not parse as " + (timestampFormat.equals("pattern") ? timestampPattern : timestampFormat));
                }
            }
        }
    }

    /**
     * An epoch number that is no plausible time in its configured unit but is one in another unit was written
     * in that unit: read as configured it would land in 1970 or after the year 5138.
     */
    private void checkUnit(JsonNode value, BigDecimal seconds, int digitsPerSecond) throws BadRecord {
        if (plausible(seconds)) {
            return;
        }
        for (int unit = 0; unit < EPOCH_UNITS.size(); unit++) {
            if (plausible(value.decimalValue().movePointLeft(unit * 3))) {
                String format = EPOCH_UNITS.get(unit);
                throw new BadRecord(DeadLetterReason.BAD_TIMESTAMP, "timestamp " + value + " looks like "
                        + format.replace('-', ' ') + ", not " + timestampFormat.replace('-', ' ')
                        + "; set mapping.timestamp-format: " + format);
            }
        }
    }

    private static boolean plausible(BigDecimal seconds) {
        return seconds.compareTo(PLAUSIBLE_SECONDS_FROM) >= 0 && seconds.compareTo(PLAUSIBLE_SECONDS_BELOW) < 0;
    }

    /** A parsed date-time as an instant: with its own offset or zone if it has one, else in timestampZone. */
    private Instant instant(TemporalAccessor parsed) {
        try {
            return ZonedDateTime.from(parsed).toInstant();
        } catch (RuntimeException noZone) {
            return LocalDateTime.from(parsed).atZone(ZoneId.of(timestampZone)).toInstant();
        }
    }

    private double number(JsonNode root, String field) throws BadRecord {
        JsonNode value = present(root, field);
        if (!value.isNumber()) {
            throw new BadRecord(DeadLetterReason.WRONG_TYPE, "field '" + field + "' is " + type(value) + ", expected a number");
        }
        double number = value.doubleValue();
        if (!Double.isFinite(number)) {
            throw new BadRecord(DeadLetterReason.NOT_FINITE, "field '" + field + "' is " + number);
        }
        return number;
    }

    private static JsonNode present(JsonNode root, String field) throws BadRecord {
        JsonNode value = root.get(field);
        if (value == null || value.isNull()) {
            throw new BadRecord(DeadLetterReason.MISSING_FIELD, "field '" + field + "' is missing");
        }
        return value;
    }

    private static String type(JsonNode value) {
        return switch (value.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            default -> value.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    /** The formatter for timestamp-format pattern, else null. */
    public DateTimeFormatter patternFormatter() {
        return timestampFormat.equals("pattern") ? DateTimeFormatter.ofPattern(timestampPattern) : null;
    }
}
