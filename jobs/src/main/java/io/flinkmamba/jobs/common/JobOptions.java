package io.flinkmamba.jobs.common;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.MemorySize;

import java.time.Duration;
import java.util.List;

/**
 * The settings both Kafka jobs share, as Flink {@link ConfigOption}s (the YAML file's nested keys, flattened
 * with dots). The operator's own settings are {@link io.flinkmamba.operator.MambaOptions} ({@code mamba.*});
 * each job adds its own.
 */
public final class JobOptions {
    private JobOptions() {}

    /** Client properties passed through to every Kafka client (security.protocol, sasl.*, ssl.*, ...). */
    public static final String KAFKA_PROPERTIES_PREFIX = "kafka.properties.";

    public static final ConfigOption<String> JOB_NAME = ConfigOptions.key("job.name")
            .stringType().noDefaultValue()
            .withDescription("The Flink job's name; also the default consumer group and transactional id prefix.");

    public static final ConfigOption<Integer> PARALLELISM = ConfigOptions.key("job.parallelism")
            .intType().defaultValue(1)
            .withDescription("Parallelism of every operator.");

    public static final ConfigOption<String> BOOTSTRAP_SERVERS = ConfigOptions.key("kafka.bootstrap-servers")
            .stringType().noDefaultValue()
            .withDescription("Kafka bootstrap servers, host:port[,host:port...].");

    public static final ConfigOption<String> INPUT_TOPIC = ConfigOptions.key("kafka.input-topic")
            .stringType().noDefaultValue()
            .withDescription("The topic the events are read from.");

    public static final ConfigOption<String> OUTPUT_TOPIC = ConfigOptions.key("kafka.output-topic")
            .stringType().noDefaultValue()
            .withDescription("The topic the results are written to.");

    public static final ConfigOption<String> DEAD_LETTER_TOPIC = ConfigOptions.key("kafka.dead-letter-topic")
            .stringType().noDefaultValue()
            .withDescription("The topic bad records are written to, with the reason and their source offset.");

    public static final ConfigOption<String> GROUP_ID = ConfigOptions.key("kafka.group-id")
            .stringType().noDefaultValue()
            .withDescription("Consumer group (offsets are committed on checkpoints); default: the job name.");

    public static final ConfigOption<String> STARTING_OFFSETS = ConfigOptions.key("kafka.starting-offsets")
            .stringType().defaultValue("committed-or-earliest")
            .withDescription("Where a job without a checkpoint starts: committed-or-earliest, earliest or latest.");

    public static final ConfigOption<Boolean> BOUNDED = ConfigOptions.key("kafka.bounded")
            .booleanType().defaultValue(false)
            .withDescription("Stop at the input's end offsets as of the job's start (batch-like runs, tests, demo).");

    public static final ConfigOption<String> DELIVERY = ConfigOptions.key("kafka.delivery")
            .stringType().defaultValue("exactly-once")
            .withDescription("exactly-once (Kafka transactions committed on checkpoints) or at-least-once.");

    public static final ConfigOption<String> TRANSACTIONAL_ID_PREFIX = ConfigOptions.key("kafka.transactional-id-prefix")
            .stringType().noDefaultValue()
            .withDescription("Prefix of the sinks' transactional ids, unique per job on a cluster; default: the job name.");

    public static final ConfigOption<Duration> TRANSACTION_TIMEOUT = ConfigOptions.key("kafka.transaction-timeout")
            .durationType().defaultValue(Duration.ofMinutes(10))
            .withDescription("Producer transaction timeout; at most the broker's transaction.max.timeout.ms "
                    + "(15 min by default) and well above the checkpoint interval.");

    public static final ConfigOption<String> KEY_FIELD = ConfigOptions.key("mapping.key-field")
            .stringType().noDefaultValue()
            .withDescription("JSON field holding the key (string or number); a missing or empty key is a dead letter.");

    public static final ConfigOption<String> TIMESTAMP_FIELD = ConfigOptions.key("mapping.timestamp-field")
            .stringType().noDefaultValue()
            .withDescription("JSON field holding the event time.");

    public static final ConfigOption<String> TIMESTAMP_FORMAT = ConfigOptions.key("mapping.timestamp-format")
            .stringType().defaultValue("epoch-millis")
            .withDescription("epoch-millis, epoch-seconds, epoch-micros, epoch-nanos (numbers; may have a fraction), iso-8601 "
                    + "(string with offset, e.g. 2024-05-01T12:00:00Z) or pattern (mapping.timestamp-pattern).");

    public static final ConfigOption<String> TIMESTAMP_PATTERN = ConfigOptions.key("mapping.timestamp-pattern")
            .stringType().noDefaultValue()
            .withDescription("java.time DateTimeFormatter pattern, with timestamp-format: pattern.");

    public static final ConfigOption<String> TIMESTAMP_ZONE = ConfigOptions.key("mapping.timestamp-zone")
            .stringType().defaultValue("UTC")
            .withDescription("Time zone of pattern timestamps that carry none.");

    public static final ConfigOption<Integer> MAX_RECORD_BYTES = ConfigOptions.key("limits.max-record-bytes")
            .intType().defaultValue(1 << 20)
            .withDescription("Larger records are dead letters (reason oversized).");

    public static final ConfigOption<MemorySize> DEAD_LETTER_MAX_ORIGINAL = ConfigOptions.key("dead-letters.max-original-bytes")
            .memoryType().defaultValue(MemorySize.ofMebiBytes(1).divide(4))
            .withDescription("A dead letter keeps at most this much of the record's key and of its value (each); "
                    + "longer ones are cut, with the original length and SHA-256 recorded. The dead-letter producer's "
                    + "max.request.size follows from it; the default fits Kafka's default 1 MiB message limit.");

    public static final ConfigOption<Duration> MAX_FUTURE = ConfigOptions.key("limits.max-future")
            .durationType().defaultValue(Duration.ofHours(1))
            .withDescription("Events timestamped further ahead of the wall clock are dead letters (future_timestamp).");

    public static final ConfigOption<Duration> OUT_OF_ORDERNESS = ConfigOptions.key("watermarks.out-of-orderness")
            .durationType().defaultValue(Duration.ofSeconds(5))
            .withDescription("Bounded out-of-orderness of the watermarks; events behind them are late dead letters.");

    public static final ConfigOption<Duration> IDLENESS = ConfigOptions.key("watermarks.idleness")
            .durationType().defaultValue(Duration.ofMinutes(1))
            .withDescription("A source split without events this long is idle and does not hold back watermarks; "
                    + "0 disables.");

    public static final ConfigOption<Duration> CHECKPOINT_INTERVAL = ConfigOptions.key("checkpoints.interval")
            .durationType().defaultValue(Duration.ofSeconds(10))
            .withDescription("Checkpoint interval; with exactly-once, results become visible once per checkpoint.");

    public static final ConfigOption<String> CHECKPOINT_DIR = ConfigOptions.key("checkpoints.dir")
            .stringType().noDefaultValue()
            .withDescription("Checkpoint storage URI (file:///..., s3://...); default: the cluster's, or a temporary "
                    + "folder when run locally.");

    /** Every option above, for validation and the README. */
    static List<ConfigOption<?>> all() {
        return List.of(JOB_NAME, PARALLELISM, BOOTSTRAP_SERVERS, INPUT_TOPIC, OUTPUT_TOPIC, DEAD_LETTER_TOPIC,
                GROUP_ID, STARTING_OFFSETS, BOUNDED, DELIVERY, TRANSACTIONAL_ID_PREFIX, TRANSACTION_TIMEOUT, KEY_FIELD,
                TIMESTAMP_FIELD, TIMESTAMP_FORMAT, TIMESTAMP_PATTERN, TIMESTAMP_ZONE, MAX_RECORD_BYTES, DEAD_LETTER_MAX_ORIGINAL,
                MAX_FUTURE,
                OUT_OF_ORDERNESS, IDLENESS, CHECKPOINT_INTERVAL, CHECKPOINT_DIR);
    }
}
