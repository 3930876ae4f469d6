package io.flinkmamba.jobs.anomaly;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flinkmamba.event.DefaultEventModel;
import io.flinkmamba.event.EventModel;
import io.flinkmamba.event.EventSchema;
import io.flinkmamba.jobs.anomaly.rcf.RcfOptions;
import io.flinkmamba.jobs.anomaly.rcf.RcfSettings;
import io.flinkmamba.jobs.common.ConfigException;
import io.flinkmamba.jobs.common.EventMapping;
import io.flinkmamba.jobs.common.JobConfig;
import io.flinkmamba.jobs.common.KafkaPipeline;
import io.flinkmamba.jobs.common.OutputRecord;
import io.flinkmamba.jobs.common.SourceEvent;
import io.flinkmamba.jobs.common.SourceEvents;
import io.flinkmamba.operator.MambaOptions;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * The anomaly job: metric events per key (a host, a sensor) from Kafka through the {@link AnomalyDetection}
 * detector (the one the {@code nab} command scores) to Kafka: per event its anomaly score and flag, the model's
 * score (negative log-likelihood in nats of the event under the prediction made after the key's previous
 * event), the anomaly likelihood, and the model's prediction (mean and standard deviation per field, raw
 * units) of the key's next event. The model is an event model ({@code flink-mamba.json}) whose numeric fields
 * (and categorical field, if any) the mapping names.
 */
public final class AnomalyJob {
    public static final String NAME = "anomaly";

    private AnomalyJob() {}

    public static List<ConfigOption<?>> options() {
        List<ConfigOption<?>> options = new ArrayList<>(AnomalyOptions.all());
        options.addAll(DetectorOptions.all());
        options.addAll(RcfOptions.all());
        return options;
    }

    /** Validates the settings, including the model folder against the mapping. */
    public static JobConfig configure(Map<String, String> settings) throws ConfigException {
        Map<String, String> withModel = new java.util.HashMap<>(settings);
        withModel.putIfAbsent(MambaOptions.MODEL_DIR.key(), DefaultEventModel.SETTING);
        return JobConfig.of(withModel, options(), "flink-mamba-anomaly", (config, problems) -> {
            config.require(AnomalyOptions.NUMERIC_FIELDS, problems);
            DetectorSettings.from(config.configuration(), problems);
            if (problems.isEmpty() && config.get(DetectorOptions.DETECTOR) == DetectorOptions.Kind.RCF) {
                try {
                    RcfSettings.from(config.configuration());
                } catch (IllegalArgumentException e) {
                    problems.add(e.getMessage());
                }
            } else if (problems.isEmpty()) {
                checkModel(config, problems);
            }
        });
    }

    private static void checkModel(JobConfig config, List<String> problems) {
        Path dir;
        EventSchema schema;
        try {
            dir = config.modelDir();
            if (!EventModel.isEventModel(dir)) {
                problems.add("setting 'mamba.model-dir': " + dir + " is not an event model (no " + EventModel.FILE
                        + "); train one with the train command, or leave the setting out for the default model");
                return;
            }
            schema = EventModel.load(dir).schema();
        } catch (IOException e) {
            problems.add("setting 'mamba.model-dir': " + e.getMessage());
            return;
        }
        if (DefaultEventModel.isDefault(config.get(MambaOptions.MODEL_DIR))) {
            if (config.get(AnomalyOptions.NUMERIC_FIELDS).size() != 1
                    || config.configuration().getOptional(AnomalyOptions.CATEGORICAL_FIELD).isPresent()) {
                problems.add("setting 'mapping.numeric-fields': the default model scores one numeric field (and no "
                        + "categorical field); name one, or train a model for several (train --from default)");
            }
            return;
        }
        List<String> fields = config.get(AnomalyOptions.NUMERIC_FIELDS);
        if (!fields.equals(schema.numericFields())) {
            problems.add("setting 'mapping.numeric-fields': " + fields + " does not match the model's numeric fields "
                    + schema.numericFields() + " (" + dir + "; same names, same order)");
        }
        String categorical = config.configuration().getOptional(AnomalyOptions.CATEGORICAL_FIELD).orElse(null);
        if (!Objects.equals(categorical, schema.categoricalField())) {
            problems.add("setting 'mapping.categorical-field': " + (categorical == null ? "not set" : "'" + categorical + "'")
                    + ", but the model's categorical field is " + (schema.categoricalField() == null ? "none"
                    : "'" + schema.categoricalField() + "' (" + schema.categories().size() + " categories)"));
        }
    }

    /**
     * Builds the job into {@code env}; {@code tap} sees the parsed events before the detector (identity in
     * production; tests inject failures there).
     */
    public static void build(StreamExecutionEnvironment env, JobConfig config, UnaryOperator<DataStream<SourceEvent>> tap)
            throws IOException {
        EventSchema schema = config.get(DetectorOptions.DETECTOR) == DetectorOptions.Kind.RCF
                ? new EventSchema(config.get(AnomalyOptions.NUMERIC_FIELDS), null, List.of())
                : EventModel.load(config.modelDir()).schema();
        // The mapping's names: a model's own are the same (checked), the default model's one field takes any name.
        List<String> fields = config.get(AnomalyOptions.NUMERIC_FIELDS);
        EventMapping mapping = EventMapping.from(config, fields, schema.categoricalField(), schema.categories());
        KafkaPipeline pipeline = new KafkaPipeline(env, config);
        DataStream<SourceEvent> events = tap.apply(pipeline.events(mapping));
        AnomalyDetection.Streams detected = AnomalyDetection.apply(events, config.configuration(), "");
        pipeline.deadLetters(detected.late(), detected.rejected());
        pipeline.results(detected.results().map(new Results(fields)).returns(OutputRecord.class)
                .uid("result-json").name("result json"));
        pipeline.finish();
    }

    /** The JSON of one event's result (schema in the README). */
    static final class Results extends RichMapFunction<AnomalyResult, OutputRecord> {
        private final List<String> fields;
        private transient ObjectMapper json;

        Results(List<String> fields) {
            this.fields = fields;
        }

        @Override
        public void open(OpenContext context) {
            json = new ObjectMapper();
        }

        @Override
        public OutputRecord map(AnomalyResult result) {
            SourceEvent event = result.event;
            ObjectNode node = json.createObjectNode();
            SourceEvents.putIdentity(node, event);
            ObjectNode values = node.putObject("values");
            for (int i = 0; i < fields.size(); i++) {
                values.put(fields.get(i), event.numeric[i]);
            }
            if (event.category != null) {
                node.put("category", event.category);
            }
            SourceEvents.putNumber(node, "anomaly_score", result.anomalyScore);
            node.put("anomaly", result.anomaly);
            SourceEvents.putNumber(node, "score", result.score);
            SourceEvents.putNumber(node, "likelihood", result.likelihood);
            node.put("events_seen", result.eventsSeen);
            if (result.predictionMean == null) { // the rcf detector predicts nothing
                return new OutputRecord(event.key, node.toString(), event.timestamp);
            }
            ObjectNode next = node.putObject("prediction");
            for (int i = 0; i < fields.size(); i++) {
                ObjectNode field = next.putObject(fields.get(i));
                SourceEvents.putNumber(field, "mean", result.predictionMean[i]);
                SourceEvents.putNumber(field, "std", result.predictionStd[i]);
            }
            return new OutputRecord(event.key, node.toString(), event.timestamp);
        }
    }
}
