package io.flinkmamba.jobs.common;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkmamba.operator.MambaStream;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * The plumbing both Kafka jobs share: Kafka source -> parse (bad records to dead letters) -> event-time
 * watermarks, and the result and dead-letter sinks (exactly-once through Kafka transactions, or
 * at-least-once). A job takes {@link #events}, runs the operator on it, hands the operator's late and rejected
 * events to {@link #deadLetters(MambaStream)}, its results to {@link #results} and then calls {@link #finish}.
 */
public final class KafkaPipeline {
    static final OutputTag<DeadLetter> DEAD_LETTERS = new OutputTag<>("dead-letters", TypeInformation.of(DeadLetter.class));

    private final StreamExecutionEnvironment env;
    private final JobConfig config;
    private final List<DataStream<DeadLetter>> deadLetters = new ArrayList<>();

    public KafkaPipeline(StreamExecutionEnvironment env, JobConfig config) {
        this.env = env;
        this.config = config;
    }

    /**
     * The Flink settings a job runs with: its name and parallelism, RocksDB (embedded, incremental
     * checkpoints), exactly-once checkpoints at the configured interval into the configured folder (or
     * {@code localCheckpoints} when none is configured; null leaves it to the cluster).
     */
    public static Configuration flinkConfiguration(JobConfig config, Path localCheckpoints) {
        Configuration flink = new Configuration();
        flink.set(PipelineOptions.NAME, config.jobName());
        flink.set(CoreOptions.DEFAULT_PARALLELISM, config.get(JobOptions.PARALLELISM));
        flink.set(StateBackendOptions.STATE_BACKEND, "rocksdb");
        flink.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, true);
        flink.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, config.get(JobOptions.CHECKPOINT_INTERVAL));
        flink.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
        String dir = config.configuration().getOptional(JobOptions.CHECKPOINT_DIR)
                .orElse(localCheckpoints == null ? null : localCheckpoints.toUri().toString());
        if (dir != null) {
            flink.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
            flink.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, dir);
        }
        return flink;
    }

    /** A fresh folder for a local run's checkpoints. */
    public static Path temporaryCheckpoints(String jobName) throws java.io.IOException {
        return Files.createTempDirectory("flink-mamba-checkpoints-" + jobName.replaceAll("[^A-Za-z0-9_-]", "_"));
    }

    /**
     * The parsed input events with timestamps and watermarks (generated per partition in the source, bounded
     * out-of-orderness, idle partitions skipped); bad records go to the dead letters.
     */
    @SuppressWarnings("deprecation") // the connector's committedOffsets takes Kafka's deprecated OffsetResetStrategy
    public SingleOutputStreamOperator<SourceEvent> events(EventMapping mapping) {
        KafkaSourceBuilder<ParsedRecord> source = KafkaSource.<ParsedRecord>builder()
                .setProperties(config.kafkaProperties())
                .setTopics(config.get(JobOptions.INPUT_TOPIC))
                .setGroupId(config.groupId())
                .setStartingOffsets(switch (config.get(JobOptions.STARTING_OFFSETS)) {
                    case "earliest" -> OffsetsInitializer.earliest();
                    case "latest" -> OffsetsInitializer.latest();
                    default -> OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST);
                })
                .setDeserializer(new ParsingDeserializer(mapping));
        if (config.get(JobOptions.BOUNDED)) {
            source.setBounded(OffsetsInitializer.latest());
        }
        // Dead letters carry no event time: Long.MIN_VALUE never advances the watermark.
        WatermarkStrategy<ParsedRecord> watermarks = WatermarkStrategy
                .<ParsedRecord>forBoundedOutOfOrderness(config.get(JobOptions.OUT_OF_ORDERNESS))
                .withTimestampAssigner((record, previous) -> record.event != null ? record.event.timestamp : Long.MIN_VALUE);
        Duration idleness = config.get(JobOptions.IDLENESS);
        if (!idleness.isZero()) {
            watermarks = watermarks.withIdleness(idleness);
        }
        SingleOutputStreamOperator<SourceEvent> events = env
                .fromSource(source.build(), watermarks, "kafka " + config.get(JobOptions.INPUT_TOPIC))
                .uid("kafka-source")
                .process(new SplitDeadLetters())
                .uid("parse").name("parse");
        deadLetters.add(events.getSideOutput(DEAD_LETTERS));
        return events;
    }

    /** The operator's late events and rejected events, as dead letters. */
    public void deadLetters(MambaStream<SourceEvent, ?> operator) {
        deadLetters(operator.late(), operator.rejected());
    }

    /** Late events and rejected events (with the reason), as dead letters. */
    public void deadLetters(DataStream<SourceEvent> late, DataStream<Tuple2<SourceEvent, String>> rejected) {
        int maxOriginal = maxOriginalBytes();
        deadLetters.add(late
                .map(event -> DeadLetter.of(DeadLetterReason.LATE, "event time " + event.timestamp
                        + " is behind the watermark (watermarks.out-of-orderness)", event, maxOriginal))
                .returns(DeadLetter.class).uid("late-events").name("late events"));
        deadLetters.add(rejected
                .map(pair -> DeadLetter.of(DeadLetterReason.REJECTED, pair.f1, pair.f0, maxOriginal))
                .returns(DeadLetter.class).uid("rejected-events").name("rejected events"));
    }

    /** Writes the results to the output topic. */
    public void results(DataStream<OutputRecord> results) {
        String topic = config.get(JobOptions.OUTPUT_TOPIC);
        KafkaRecordSerializationSchema<OutputRecord> serializer = (record, context, timestamp) -> new ProducerRecord<>(
                topic, null, record.timestamp, record.key == null ? null : record.key.getBytes(StandardCharsets.UTF_8),
                record.value.getBytes(StandardCharsets.UTF_8));
        results.sinkTo(sink(serializer, "results", config.kafkaProperties())).uid("results-sink").name("results");
    }

    /**
     * Writes all dead letters (counted per reason) to the dead-letter topic; call after the other methods.
     * The producer's max.request.size fits the largest dead letter that dead-letters.max-original-bytes
     * allows, so that no bad record, however large, can fail the sink.
     */
    public void finish() {
        DataStream<DeadLetter> all = deadLetters.get(0);
        for (int i = 1; i < deadLetters.size(); i++) {
            all = all.union(deadLetters.get(i));
        }
        Properties props = config.kafkaProperties();
        long configured = Long.parseLong(props.getProperty(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, "0"));
        props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
                String.valueOf(Math.max(configured, DeadLetter.maxRecordBytes(maxOriginalBytes()))));
        all.map(new CountDeadLetters()).uid("dead-letter-records").name("dead letters")
                .sinkTo(sink(new DeadLetterSerializer(config.get(JobOptions.DEAD_LETTER_TOPIC)), "dead-letters", props))
                .uid("dead-letter-sink").name("dead-letter sink");
    }

    private int maxOriginalBytes() {
        return (int) config.get(JobOptions.DEAD_LETTER_MAX_ORIGINAL).getBytes();
    }

    private <T> KafkaSink<T> sink(KafkaRecordSerializationSchema<T> serializer, String role, Properties props) {
        props.put("transaction.timeout.ms", String.valueOf(config.get(JobOptions.TRANSACTION_TIMEOUT).toMillis()));
        return KafkaSink.<T>builder()
                .setKafkaProducerConfig(props)
                .setBootstrapServers(config.get(JobOptions.BOOTSTRAP_SERVERS))
                .setRecordSerializer(serializer)
                .setDeliveryGuarantee(config.exactlyOnce() ? DeliveryGuarantee.EXACTLY_ONCE : DeliveryGuarantee.AT_LEAST_ONCE)
                .setTransactionalIdPrefix(config.transactionalIdPrefix() + "-" + role)
                .build();
    }

    /** Events on, dead letters to the side output. */
    static final class SplitDeadLetters extends ProcessFunction<ParsedRecord, SourceEvent> {
        @Override
        public void processElement(ParsedRecord record, Context context, Collector<SourceEvent> out) {
            if (record.event != null) {
                out.collect(record.event);
            } else {
                context.output(DEAD_LETTERS, record.deadLetter);
            }
        }
    }

    /** Counts the dead letters per reason in the metric group {@code deadLetters}. */
    static final class CountDeadLetters extends RichMapFunction<DeadLetter, DeadLetter> {
        private transient Map<String, Counter> counters;

        @Override
        public void open(OpenContext context) {
            counters = new HashMap<>();
        }

        @Override
        public DeadLetter map(DeadLetter letter) {
            counters.computeIfAbsent(letter.reason, reason -> getRuntimeContext().getMetricGroup()
                    .addGroup("deadLetters").counter(reason)).inc();
            return letter;
        }
    }

    /** A dead letter as a record of the dead-letter topic: its kept key bytes as the key, its JSON as the value. */
    static final class DeadLetterSerializer implements KafkaRecordSerializationSchema<DeadLetter> {
        private final String topic;
        private transient ObjectMapper json;

        DeadLetterSerializer(String topic) {
            this.topic = topic;
        }

        @Override
        public void open(SerializationSchema.InitializationContext context, KafkaSinkContext sinkContext) {
            json = new ObjectMapper();
        }

        @Override
        public ProducerRecord<byte[], byte[]> serialize(DeadLetter letter, KafkaSinkContext context, Long timestamp) {
            return new ProducerRecord<>(topic, null, letter.kafkaTimestamp, letter.key,
                    letter.toJson(json).getBytes(StandardCharsets.UTF_8));
        }
    }
}
