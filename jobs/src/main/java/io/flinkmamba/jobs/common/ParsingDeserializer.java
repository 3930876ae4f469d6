package io.flinkmamba.jobs.common;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.metrics.Counter;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.time.format.DateTimeFormatter;

/**
 * Parses each Kafka record in the source, so that watermarks are generated per partition from the events'
 * own timestamps; a bad record becomes a dead letter instead. Never throws: no record can fail the job.
 */
final class ParsingDeserializer implements KafkaRecordDeserializationSchema<ParsedRecord> {
    private final EventMapping mapping;
    private transient ObjectMapper json;
    private transient DateTimeFormatter pattern;
    private transient Counter parsed;

    ParsingDeserializer(EventMapping mapping) {
        this.mapping = mapping;
    }

    @Override
    public void open(DeserializationSchema.InitializationContext context) {
        json = EventMapping.jsonReader();
        pattern = mapping.patternFormatter();
        parsed = context.getMetricGroup().counter("eventsParsed");
    }

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<ParsedRecord> out) {
        ParsedRecord parsedRecord;
        try {
            parsedRecord = new ParsedRecord(mapping.parse(record, json, pattern, System.currentTimeMillis()), null);
            parsed.inc();
        } catch (EventMapping.BadRecord bad) {
            parsedRecord = new ParsedRecord(null, DeadLetter.of(bad.reason(), bad.getMessage(), record,
                    mapping.deadLetterOriginalBytes()));
        } catch (RuntimeException unexpected) {
            parsedRecord = new ParsedRecord(null, DeadLetter.of(DeadLetterReason.UNPARSEABLE, String.valueOf(unexpected), record,
                    mapping.deadLetterOriginalBytes()));
        }
        // Outside the try: a failure downstream (chained operators) must fail the job, not make a dead letter.
        out.collect(parsedRecord);
    }

    @Override
    public TypeInformation<ParsedRecord> getProducedType() {
        return TypeInformation.of(ParsedRecord.class);
    }
}
