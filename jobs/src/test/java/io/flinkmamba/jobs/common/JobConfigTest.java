package io.flinkmamba.jobs.common;

import io.flinkmamba.event.EventModels;
import io.flinkmamba.event.EventSchema;
import io.flinkmamba.jobs.anomaly.AnomalyJob;
import io.flinkmamba.jobs.session.SessionJob;
import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.model.ModelWriter;
import io.flinkmamba.model.RandomModels;
import io.flinkmamba.safetensors.DType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Configuration: YAML flattening, overrides, and a message naming the setting for each kind of mistake. */
class JobConfigTest {
    @TempDir
    static Path tmp;
    static Path eventModel;
    static Path tokenModel;

    @BeforeAll
    static void models() throws Exception {
        eventModel = tmp.resolve("event-model");
        EventModels.random(EventSchema.numeric("cpu", "mem"), 8, 1, 4, 1, eventModel);
        tokenModel = tmp.resolve("token-model");
        ModelWriter.write(RandomModels.create(RandomModels.config(LayerType.MAMBA1, 8, 1, 4, 4), 1, 0f), tokenModel, DType.F32);
    }

    private static Map<String, String> anomaly() {
        Map<String, String> settings = new HashMap<>();
        settings.put("kafka.bootstrap-servers", "localhost:9092");
        settings.put("kafka.input-topic", "metrics");
        settings.put("kafka.output-topic", "scores");
        settings.put("kafka.dead-letter-topic", "metrics-dead");
        settings.put("mapping.key-field", "host");
        settings.put("mapping.timestamp-field", "ts");
        settings.put("mapping.numeric-fields", "cpu;mem");
        settings.put("mamba.model-dir", eventModel.toString());
        return settings;
    }

    private static Map<String, String> with(Map<String, String> settings, String key, String value) {
        Map<String, String> copy = new HashMap<>(settings);
        if (value == null) {
            copy.remove(key);
        } else {
            copy.put(key, value);
        }
        return copy;
    }

    private static String anomalyProblem(String key, String value) {
        ConfigException e = assertThrows(ConfigException.class, () -> AnomalyJob.configure(with(anomaly(), key, value)));
        assertEquals(1, e.problems().size(), e.getMessage());
        return e.problems().get(0);
    }

    @Test
    void readsNestedYamlListsAndPassThroughPropertiesThenOverrides() throws Exception {
        Path file = tmp.resolve("anomaly.yaml");
        Files.writeString(file, """
                job:
                  name: metrics-anomalies
                kafka:
                  bootstrap-servers: broker:9093
                  input-topic: metrics
                  output-topic: scores
                  dead-letter-topic: metrics-dead
                  properties:
                    security.protocol: SASL_SSL
                    sasl.mechanism: PLAIN
                mapping:
                  key-field: host
                  timestamp-field: ts
                  numeric-fields: [cpu, mem]
                mamba:
                  model-dir: %s
                  bundle.size: 256
                checkpoints.interval: 30s
                """.formatted(eventModel));
        Map<String, String> settings = new HashMap<>(JobConfig.readYaml(file));
        settings.putAll(JobConfig.parseOverrides(List.of("kafka.bootstrap-servers=other:9092")));
        JobConfig config = AnomalyJob.configure(settings);
        assertEquals("metrics-anomalies", config.jobName());
        assertEquals("metrics-anomalies", config.groupId());
        assertEquals(List.of("cpu", "mem"), config.get(io.flinkmamba.jobs.anomaly.AnomalyOptions.NUMERIC_FIELDS));
        assertEquals(256, config.get(io.flinkmamba.operator.MambaOptions.BUNDLE_SIZE));
        assertEquals("SASL_SSL", config.kafkaProperties().get("security.protocol"));
        assertEquals("PLAIN", config.kafkaProperties().get("sasl.mechanism"));
        assertEquals("other:9092", config.kafkaProperties().get("bootstrap.servers"));
    }

    @Test
    void theShippedExamplesAreValidApartFromTheirModelFolders() throws Exception {
        for (String job : new String[] {"anomaly", "session"}) {
            Map<String, String> settings = new HashMap<>(JobConfig.readYaml(Path.of("config", job + ".yaml")));
            settings.put("mamba.model-dir", (job.equals("anomaly") ? eventModel : tokenModel).toString());
            if (job.equals("anomaly")) {
                settings.put("mapping.numeric-fields", "cpu;mem");
                AnomalyJob.configure(settings);
            } else {
                settings.put("mapping.categories", "a;b;c");
                SessionJob.configure(settings);
            }
        }
    }

    @Test
    void unknownSettingsAreNamedWithASuggestion() {
        assertEquals("unknown setting 'kafka.inptu-topic'; did you mean 'kafka.input-topic'?",
                anomalyProblem("kafka.inptu-topic", "x"));
        assertTrue(anomalyProblem("colour", "blue").startsWith("unknown setting 'colour'"));
    }

    @Test
    void missingRequiredSettingsAreNamed() {
        assertTrue(anomalyProblem("kafka.input-topic", null).startsWith("missing required setting 'kafka.input-topic'"));
        assertTrue(anomalyProblem("mapping.numeric-fields", null).startsWith("missing required setting 'mapping.numeric-fields'"));
    }

    @Test
    void badValuesAreNamed() {
        assertTrue(anomalyProblem("checkpoints.interval", "often").startsWith("setting 'checkpoints.interval': cannot read 'often'"));
        assertTrue(anomalyProblem("job.parallelism", "0").startsWith("setting 'job.parallelism' is 0"));
        assertTrue(anomalyProblem("kafka.delivery", "twice").startsWith("setting 'kafka.delivery' is 'twice'; expected one of"));
        assertTrue(anomalyProblem("mapping.timestamp-format", "pattern")
                .startsWith("setting 'mapping.timestamp-pattern' is required"));
        assertTrue(anomalyProblem("mapping.timestamp-zone", "Mars/Olympus").startsWith("setting 'mapping.timestamp-zone'"));
        assertTrue(anomalyProblem("kafka.output-topic", "metrics").startsWith("setting 'kafka.input-topic'"));
        assertTrue(anomalyProblem("mamba.state.codec", "float8").contains("float8"));
        assertTrue(anomalyProblem("anomaly.threshold", "2").startsWith("setting 'anomaly.threshold' is 2.0"));
        assertTrue(anomalyProblem("kafka.transaction-timeout", "5s").startsWith("setting 'kafka.transaction-timeout'"));
    }

    @Test
    void allProblemsAreReportedTogether() {
        Map<String, String> settings = with(with(anomaly(), "kafka.input-topic", null), "checkpoints.interval", "-1s");
        ConfigException e = assertThrows(ConfigException.class, () -> AnomalyJob.configure(with(settings, "kafka.bootstrap-servers", null)));
        assertEquals(3, e.problems().size(), e.getMessage());
    }

    @Test
    void aModelThatDoesNotMatchTheMappingIsRefusedBeforeTheJobStarts() {
        assertTrue(anomalyProblem("mapping.numeric-fields", "cpu;disk")
                .startsWith("setting 'mapping.numeric-fields': [cpu, disk] does not match the model's numeric fields [cpu, mem]"));
        assertTrue(anomalyProblem("mapping.numeric-fields", "mem;cpu").contains("same order"));
        assertTrue(anomalyProblem("mamba.model-dir", tokenModel.toString()).contains("is not an event model"));
        assertTrue(anomalyProblem("mapping.categorical-field", "kind").startsWith("setting 'mapping.categorical-field': 'kind'"));

        Map<String, String> session = with(with(with(anomaly(), "mapping.numeric-fields", null),
                "mapping.categorical-field", "type"), "mamba.session.gap", "30min");
        ConfigException tooMany = assertThrows(ConfigException.class, () -> SessionJob.configure(with(with(session,
                "mamba.model-dir", tokenModel.toString()), "mapping.categories", "a;b;c;d;e")));
        assertTrue(tooMany.getMessage().startsWith("setting 'mapping.categories': 5 categories, more than the model's vocab_size 4"),
                tooMany.getMessage());
        ConfigException features = assertThrows(ConfigException.class, () -> SessionJob.configure(with(with(session,
                "mamba.model-dir", eventModel.toString()), "mapping.categories", "a;b")));
        assertTrue(features.getMessage().contains("the session job needs a categorical field only"), features.getMessage());
        ConfigException noCategories = assertThrows(ConfigException.class, () -> SessionJob.configure(with(session,
                "mamba.model-dir", tokenModel.toString())));
        assertTrue(noCategories.getMessage().startsWith("missing required setting 'mapping.categories'"), noCategories.getMessage());
        ConfigException noGap = assertThrows(ConfigException.class, () -> SessionJob.configure(with(with(with(session,
                "mamba.model-dir", tokenModel.toString()), "mapping.categories", "a;b"), "mamba.session.gap", null)));
        assertTrue(noGap.getMessage().startsWith("setting 'mamba.session.gap' is required"), noGap.getMessage());
    }

    @Test
    void yamlAndOverrideMistakesAreReported() throws Exception {
        Path file = tmp.resolve("broken.yaml");
        Files.writeString(file, "kafka: [unclosed\n");
        assertTrue(assertThrows(ConfigException.class, () -> JobConfig.readYaml(file)).getMessage().contains("not valid YAML"));
        assertTrue(assertThrows(ConfigException.class, () -> JobConfig.readYaml(tmp.resolve("absent.yaml")))
                .getMessage().contains("does not exist"));
        assertEquals("--set 'novalue' is not key=value",
                assertThrows(ConfigException.class, () -> JobConfig.parseOverrides(List.of("novalue"))).getMessage());
    }

    @Test
    void aDurationWithoutAUnitIsRefusedWithASuggestion() {
        assertEquals("setting 'checkpoints.interval' is '2' without a unit; write e.g. '2s' (units: ms, s, min, h, d)",
                anomalyProblem("checkpoints.interval", "2"));
        assertEquals("setting 'mamba.bundle.max-delay' is '50' without a unit; write e.g. '50s' (units: ms, s, min, h, d)",
                anomalyProblem("mamba.bundle.max-delay", "50"));
        assertEquals("setting 'checkpoints.interval' is 5 ms; Flink needs at least 10ms",
                anomalyProblem("checkpoints.interval", "5ms"));
    }

    @Test
    void aYamlKeyGivenTwiceIsRefusedWithBothLines() throws Exception {
        Path file = tmp.resolve("twice.yaml");
        Files.writeString(file, """
                kafka:
                  input-topic: metrics
                  output-topic: scores
                  input-topic: other
                checkpoints.interval: 10s
                """);
        ConfigException twice = assertThrows(ConfigException.class, () -> JobConfig.readYaml(file));
        assertEquals(List.of("config file " + file + ": setting 'kafka.input-topic' is given twice (lines 2 and 4)"),
                twice.problems());

        Path dotted = tmp.resolve("dotted.yaml");
        Files.writeString(dotted, """
                kafka:
                  input-topic: metrics
                kafka.input-topic: other
                """);
        assertEquals(List.of("setting 'kafka.input-topic' is given twice (nested and dotted)"),
                assertThrows(ConfigException.class, () -> JobConfig.readYaml(dotted)).problems());
    }

    @Test
    void theDeadLetterSizeLimitIsBounded() {
        assertTrue(anomalyProblem("dead-letters.max-original-bytes", "1gb")
                .startsWith("setting 'dead-letters.max-original-bytes' is 1 gb; it must be at most 256 mb"));
    }
}
