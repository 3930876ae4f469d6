package io.flinkmamba.jobs.common;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.flinkmamba.event.DefaultEventModel;
import io.flinkmamba.operator.MambaOperatorBuilder;
import io.flinkmamba.operator.MambaOptions;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * A job's validated settings: a YAML file flattened to dotted keys ({@code kafka: {input-topic: x}} is
 * {@code kafka.input-topic: x}; lists become {@code a;b}), then command-line overrides. Every key must be a
 * known option ({@link JobOptions}, {@link MambaOptions}, the job's own) or a pass-through Kafka client
 * property under {@code kafka.properties.}; every value must parse; all problems are reported together.
 */
public final class JobConfig {
    private static final Set<String> STARTING_OFFSETS = Set.of("committed-or-earliest", "earliest", "latest");
    private static final Set<String> DELIVERY = Set.of("exactly-once", "at-least-once");
    private static final Set<String> TIMESTAMP_FORMATS = Set.of("epoch-seconds", "epoch-millis", "epoch-micros", "epoch-nanos", "iso-8601", "pattern");

    private static final Pattern BARE_NUMBER = Pattern.compile("[0-9]+");
    /** Flink's smallest checkpoint interval. */
    private static final Duration MIN_CHECKPOINT_INTERVAL = Duration.ofMillis(10);
    /** Far above any Kafka message limit, and small enough that 2.4 times it is still an int. */
    private static final MemorySize MAX_DEAD_LETTER_ORIGINAL = MemorySize.ofMebiBytes(256);

    private final Configuration configuration;
    private final String defaultName;

    private JobConfig(Configuration configuration, String defaultName) {
        this.configuration = configuration;
        this.defaultName = defaultName;
    }

    /** Reads a YAML file into flat settings; a key given twice is an error, not a silent override. */
    public static Map<String, String> readYaml(Path file) throws ConfigException {
        JsonNode root;
        List<String> problems = new ArrayList<>();
        try {
            byte[] yaml = Files.readAllBytes(file);
            duplicateKeys(file, yaml, problems);
            root = new YAMLMapper().readTree(yaml);
        } catch (NoSuchFileException e) {
            throw new ConfigException("config file " + file + " does not exist");
        } catch (IOException e) {
            throw new ConfigException("config file " + file + " is not valid YAML: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        Map<String, String> flat = new LinkedHashMap<>();
        if (root == null || root.isMissingNode() || root.isNull()) {
            return flat;
        }
        if (!root.isObject()) {
            throw new ConfigException("config file " + file + " must hold a mapping of settings at the top level");
        }
        flatten("", root, flat, problems);
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return flat;
    }

    /** Adds a problem per key that a mapping of the YAML gives twice, with both lines. */
    private static void duplicateKeys(Path file, byte[] yaml, List<String> problems) throws IOException {
        Deque<Map<String, Integer>> mappings = new ArrayDeque<>();
        try (JsonParser parser = new YAMLFactory().createParser(yaml)) {
            for (JsonToken token = parser.nextToken(); token != null; token = parser.nextToken()) {
                if (token == JsonToken.START_OBJECT) {
                    mappings.push(new HashMap<>());
                } else if (token == JsonToken.END_OBJECT) {
                    mappings.pop();
                } else if (token == JsonToken.FIELD_NAME) {
                    int line = parser.currentTokenLocation().getLineNr();
                    Integer first = mappings.peek().putIfAbsent(parser.currentName(), line);
                    if (first != null) {
                        String key = parser.getParsingContext().pathAsPointer().toString().substring(1).replace('/', '.');
                        problems.add("config file " + file + ": setting '" + key + "' is given twice (lines " + first
                                + " and " + line + ")");
                    }
                }
            }
        }
    }

    private static void flatten(String prefix, JsonNode node, Map<String, String> flat, List<String> problems) {
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            String key = prefix + entry.getKey();
            JsonNode value = entry.getValue();
            if (flat.containsKey(key)) {
                problems.add("setting '" + key + "' is given twice (nested and dotted)");
            } else if (value.isObject()) {
                flatten(key + ".", value, flat, problems);
            } else if (value.isArray()) {
                List<String> items = new ArrayList<>();
                value.forEach(item -> items.add(item.asText()));
                flat.put(key, String.join(";", items));
            } else if (value.isNull()) {
                problems.add("setting '" + key + "' has no value");
            } else {
                flat.put(key, value.asText());
            }
        }
    }

    /** Parses {@code key=value} command-line overrides. */
    public static Map<String, String> parseOverrides(List<String> overrides) throws ConfigException {
        Map<String, String> flat = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        for (String override : overrides) {
            int eq = override.indexOf('=');
            if (eq <= 0) {
                problems.add("--set '" + override + "' is not key=value");
            } else {
                flat.put(override.substring(0, eq).strip(), override.substring(eq + 1).strip());
            }
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return flat;
    }

    /** A job's own checks, adding a message naming the setting per problem. */
    @FunctionalInterface
    public interface JobChecks {
        void check(JobConfig config, List<String> problems);
    }

    /**
     * Validates the settings of a job whose own options are {@code jobOptions}; {@code defaultName} names the
     * job, its consumer group and transactional ids unless set;
     * {@code jobChecks} adds the job's own checks (run after the common ones, all reported together).
     */
    public static JobConfig of(Map<String, String> settings, List<ConfigOption<?>> jobOptions, String defaultName,
                               JobChecks jobChecks) throws ConfigException {
        Map<String, ConfigOption<?>> known = new TreeMap<>();
        JobOptions.all().forEach(o -> known.put(o.key(), o));
        mambaOptions().forEach(o -> known.put(o.key(), o));
        jobOptions.forEach(o -> known.put(o.key(), o));

        List<String> problems = new ArrayList<>();
        Map<String, String> values = new LinkedHashMap<>();
        settings.forEach((key, value) -> {
            if (key.startsWith(JobOptions.KAFKA_PROPERTIES_PREFIX) && key.length() > JobOptions.KAFKA_PROPERTIES_PREFIX.length()) {
                values.put(key, value);
            } else if (!known.containsKey(key)) {
                String closest = closest(key, known.keySet());
                problems.add("unknown setting '" + key + "'" + (closest != null ? "; did you mean '" + closest + "'?" : ""));
            } else {
                values.put(key, value);
            }
        });
        Configuration configuration = Configuration.fromMap(values);
        for (ConfigOption<?> option : known.values()) {
            if (configuration.containsKey(option.key())) {
                String raw = values.get(option.key()).strip();
                try {
                    if (configuration.get(option) instanceof Duration && BARE_NUMBER.matcher(raw).matches()) {
                        problems.add("setting '" + option.key() + "' is '" + raw + "' without a unit; write e.g. '"
                                + raw + "s' (units: ms, s, min, h, d)");
                        configuration.removeKey(option.key());
                    }
                } catch (IllegalArgumentException e) {
                    String why = e.getCause() != null ? e.getCause().getMessage() : e.getMessage();
                    problems.add("setting '" + option.key() + "': cannot read '" + raw + "': " + why);
                    // Checked no further; the other settings still are, so all problems come out together.
                    configuration.removeKey(option.key());
                }
            }
        }
        JobConfig config = new JobConfig(configuration, defaultName);
        config.checkCommon(problems);
        jobChecks.check(config, problems);
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return config;
    }

    private void checkCommon(List<String> problems) {
        for (ConfigOption<?> required : List.of(JobOptions.BOOTSTRAP_SERVERS, JobOptions.INPUT_TOPIC,
                JobOptions.OUTPUT_TOPIC, JobOptions.DEAD_LETTER_TOPIC, JobOptions.KEY_FIELD, JobOptions.TIMESTAMP_FIELD,
                MambaOptions.MODEL_DIR)) {
            require(required, problems);
        }
        String input = get(JobOptions.INPUT_TOPIC);
        if (input != null && (input.equals(get(JobOptions.OUTPUT_TOPIC)) || input.equals(get(JobOptions.DEAD_LETTER_TOPIC)))) {
            problems.add("setting 'kafka.input-topic': the job must not write to its input topic '" + input + "'");
        }
        if (get(JobOptions.OUTPUT_TOPIC) != null && get(JobOptions.OUTPUT_TOPIC).equals(get(JobOptions.DEAD_LETTER_TOPIC))) {
            problems.add("setting 'kafka.dead-letter-topic': must differ from kafka.output-topic");
        }
        oneOf(JobOptions.STARTING_OFFSETS, STARTING_OFFSETS, problems);
        oneOf(JobOptions.DELIVERY, DELIVERY, problems);
        oneOf(JobOptions.TIMESTAMP_FORMAT, TIMESTAMP_FORMATS, problems);
        if (get(JobOptions.TIMESTAMP_FORMAT).equals("pattern")) {
            String pattern = get(JobOptions.TIMESTAMP_PATTERN);
            if (pattern == null) {
                problems.add("setting 'mapping.timestamp-pattern' is required with mapping.timestamp-format: pattern");
            } else {
                try {
                    DateTimeFormatter.ofPattern(pattern);
                } catch (IllegalArgumentException e) {
                    problems.add("setting 'mapping.timestamp-pattern': '" + pattern + "' is not a valid pattern: " + e.getMessage());
                }
            }
        }
        try {
            ZoneId.of(get(JobOptions.TIMESTAMP_ZONE));
        } catch (RuntimeException e) {
            problems.add("setting 'mapping.timestamp-zone': '" + get(JobOptions.TIMESTAMP_ZONE) + "' is not a time zone");
        }
        atLeast(JobOptions.PARALLELISM, 1, problems);
        atLeast(JobOptions.MAX_RECORD_BYTES, 1, problems);
        if (get(JobOptions.CHECKPOINT_INTERVAL).compareTo(MIN_CHECKPOINT_INTERVAL) < 0) {
            problems.add("setting 'checkpoints.interval' is " + get(JobOptions.CHECKPOINT_INTERVAL).toMillis()
                    + " ms; Flink needs at least 10ms");
        }
        if (get(JobOptions.DEAD_LETTER_MAX_ORIGINAL).compareTo(MAX_DEAD_LETTER_ORIGINAL) > 0) {
            problems.add("setting 'dead-letters.max-original-bytes' is " + get(JobOptions.DEAD_LETTER_MAX_ORIGINAL)
                    + "; it must be at most " + MAX_DEAD_LETTER_ORIGINAL);
        }
        positive(JobOptions.TRANSACTION_TIMEOUT, problems);
        notNegative(JobOptions.OUT_OF_ORDERNESS, problems);
        notNegative(JobOptions.IDLENESS, problems);
        notNegative(JobOptions.MAX_FUTURE, problems);
        if (exactlyOnce() && get(JobOptions.TRANSACTION_TIMEOUT).compareTo(get(JobOptions.CHECKPOINT_INTERVAL)) <= 0) {
            problems.add("setting 'kafka.transaction-timeout' (" + get(JobOptions.TRANSACTION_TIMEOUT)
                    + ") must exceed checkpoints.interval (" + get(JobOptions.CHECKPOINT_INTERVAL) + ")");
        }
        if (get(MambaOptions.MODEL_DIR) != null) {
            try {
                MambaOperatorBuilder.forModel(Path.of(get(MambaOptions.MODEL_DIR))).configure(configuration).settings();
            } catch (IllegalArgumentException e) {
                problems.add("mamba.* settings: " + e.getMessage());
            }
        }
    }

    public <T> T get(ConfigOption<T> option) {
        return configuration.get(option);
    }

    /** All settings, for the Mamba operator builder's {@code configure}. */
    public Configuration configuration() {
        return configuration;
    }

    public void require(ConfigOption<?> option, List<String> problems) {
        if (!configuration.contains(option)) {
            problems.add("missing required setting '" + option.key() + "'");
        }
    }

    public void oneOf(ConfigOption<String> option, Set<String> allowed, List<String> problems) {
        String value = get(option);
        if (value != null && !allowed.contains(value)) {
            problems.add("setting '" + option.key() + "' is '" + value + "'; expected one of " + new java.util.TreeSet<>(allowed));
        }
    }

    public void atLeast(ConfigOption<Integer> option, int min, List<String> problems) {
        if (get(option) < min) {
            problems.add("setting '" + option.key() + "' is " + get(option) + "; it must be at least " + min);
        }
    }

    private void positive(ConfigOption<Duration> option, List<String> problems) {
        if (get(option).isNegative() || get(option).isZero()) {
            problems.add("setting '" + option.key() + "' must be positive, got " + get(option));
        }
    }

    private void notNegative(ConfigOption<Duration> option, List<String> problems) {
        if (get(option).isNegative()) {
            problems.add("setting '" + option.key() + "' must not be negative, got " + get(option));
        }
    }

    public String jobName() {
        return configuration.getOptional(JobOptions.JOB_NAME).orElse(defaultName);
    }

    public String groupId() {
        return configuration.getOptional(JobOptions.GROUP_ID).orElse(jobName());
    }

    public String transactionalIdPrefix() {
        return configuration.getOptional(JobOptions.TRANSACTIONAL_ID_PREFIX).orElse(jobName());
    }

    public boolean exactlyOnce() {
        return get(JobOptions.DELIVERY).equals("exactly-once");
    }

    /** The model folder ({@code builtin:default}: the shipped default event model, extracted). */
    public Path modelDir() {
        try {
            return DefaultEventModel.resolve(get(MambaOptions.MODEL_DIR));
        } catch (IOException e) { // the jar's own resources: not a user error
            throw new java.io.UncheckedIOException("cannot extract the default event model: " + e.getMessage(), e);
        }
    }

    /** The pass-through Kafka client properties (without their prefix) and the bootstrap servers. */
    public Properties kafkaProperties() {
        Properties props = new Properties();
        configuration.toMap().forEach((key, value) -> {
            if (key.startsWith(JobOptions.KAFKA_PROPERTIES_PREFIX)) {
                props.put(key.substring(JobOptions.KAFKA_PROPERTIES_PREFIX.length()), value);
            }
        });
        props.put("bootstrap.servers", get(JobOptions.BOOTSTRAP_SERVERS));
        return props;
    }

    static List<ConfigOption<?>> mambaOptions() {
        List<ConfigOption<?>> options = new ArrayList<>();
        for (Field field : MambaOptions.class.getFields()) {
            if (Modifier.isStatic(field.getModifiers()) && field.getType() == ConfigOption.class) {
                try {
                    options.add((ConfigOption<?>) field.get(null));
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return options;
    }

    private static String closest(String key, Set<String> known) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : known) {
            int distance = editDistance(key, candidate);
            if (distance < bestDistance) {
                bestDistance = distance;
                best = candidate;
            }
        }
        return bestDistance <= Math.max(2, key.length() / 4) ? best : null;
    }

    private static int editDistance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }
}
