package io.flinkmamba.jobs.anomaly;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flinkmamba.event.EventModel;
import io.flinkmamba.event.EventPrediction;
import io.flinkmamba.event.EventSchema;
import io.flinkmamba.jobs.common.ConfigException;
import io.flinkmamba.jobs.common.EventMapping;
import io.flinkmamba.jobs.common.JobConfig;
import io.flinkmamba.jobs.common.KafkaPipeline;
import io.flinkmamba.jobs.common.OutputRecord;
import io.flinkmamba.jobs.common.SourceEvent;
import io.flinkmamba.jobs.common.SourceEvents;
import io.flinkmamba.operator.MambaOperatorBuilder;
import io.flinkmamba.operator.MambaOutput;
import io.flinkmamba.operator.MambaStream;
import io.flinkmamba.operator.OutputMapper;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * The anomaly job: metric events per key (a host, a sensor) -> per event its anomaly score (negative
 * log-likelihood in nats under the model's prediction made after the key's previous event), the calibrated
 * anomaly likelihood, an anomaly flag (likelihood at or above {@code anomaly.threshold}), and the model's
 * prediction (mean and standard deviation per field) of the key's next event. The model is an event model
 * ({@code flink-mamba.json}) whose numeric fields (and categorical field, if any) the mapping names.
 */
public final class AnomalyJob {
    public static final String NAME = "anomaly";

    private AnomalyJob() {}

    public static List<ConfigOption<?>> options() {
        return AnomalyOptions.all();
    }

    /** Validates the settings, including the model folder against the mapping. */
    public static JobConfig configure(Map<String, String> settings) throws ConfigException {
        return JobConfig.of(settings, options(), "flink-mamba-anomaly", (config, problems) -> {
            config.require(AnomalyOptions.NUMERIC_FIELDS, problems);
            double threshold = config.get(AnomalyOptions.THRESHOLD);
            if (!(threshold > 0 && threshold <= 1)) {
                problems.add("setting 'anomaly.threshold' is " + threshold + "; it must be in (0, 1]");
            }
            if (problems.isEmpty()) {
                checkModel(config, problems);
            }
        });
    }

    private static void checkModel(JobConfig config, List<String> problems) {
        if (!EventModel.isEventModel(config.modelDir())) {
            problems.add("setting 'mamba.model-dir': " + config.modelDir() + " is not an event model (no "
                    + EventModel.FILE + "); train one with the train command");
            return;
        }
        EventSchema schema;
        try {
            schema = EventModel.load(config.modelDir()).schema();
        } catch (IOException e) {
            problems.add("setting 'mamba.model-dir': " + e.getMessage());
            return;
        }
        List<String> fields = config.get(AnomalyOptions.NUMERIC_FIELDS);
        if (!fields.equals(schema.numericFields())) {
            problems.add("setting 'mapping.numeric-fields': " + fields + " does not match the model's numeric fields "
                    + schema.numericFields() + " (" + config.modelDir() + "; same names, same order)");
        }
        String categorical = config.configuration().getOptional(AnomalyOptions.CATEGORICAL_FIELD).orElse(null);
        if (!Objects.equals(categorical, schema.categoricalField())) {
            problems.add("setting 'mapping.categorical-field': " + (categorical == null ? "not set" : "'" + categorical + "'")
                    + ", but the model's categorical field is " + (schema.categoricalField() == null ? "none"
                    : "'" + schema.categoricalField() + "' (" + schema.categories().size() + " categories)"));
        }
    }

    /**
     * Builds the job into {@code env}; {@code tap} sees the parsed events before the operator (identity in
     * production; tests inject failures there).
     */
    public static void build(StreamExecutionEnvironment env, JobConfig config, UnaryOperator<DataStream<SourceEvent>> tap)
            throws IOException {
        EventSchema schema = EventModel.load(config.modelDir()).schema();
        EventMapping mapping = EventMapping.from(config, schema.numericFields(), schema.categoricalField(), schema.categories());
        KafkaPipeline pipeline = new KafkaPipeline(env, config);
        DataStream<SourceEvent> events = tap.apply(pipeline.events(mapping));

        MambaStream<SourceEvent, OutputRecord> scored = MambaOperatorBuilder
                .<SourceEvent, OutputRecord>forModel(config.modelDir())
                .configure(config.configuration())
                .eventTimeOrdering(true)
                .eventExtractor((event, fields) -> {
                    for (int i = 0; i < event.numeric.length; i++) {
                        fields.numeric(i, event.numeric[i]);
                    }
                    if (event.categoryIndex >= 0) {
                        fields.category(event.categoryIndex);
                    }
                })
                .outputMapper(new Results(schema.numericFields(), config.get(AnomalyOptions.THRESHOLD)),
                        TypeInformation.of(OutputRecord.class))
                .applyTo(events.keyBy(event -> event.key));
        scored.results().uid("mamba").name("mamba");
        pipeline.deadLetters(scored);
        pipeline.results(scored.results());
        pipeline.finish();
    }

    /** The JSON of one event's result (schema in the README). */
    static final class Results implements OutputMapper<SourceEvent, OutputRecord> {
        private final List<String> fields;
        private final double threshold;
        private transient ObjectMapper json;

        Results(List<String> fields, double threshold) {
            this.fields = fields;
            this.threshold = threshold;
        }

        @Override
        public OutputRecord map(SourceEvent event, MambaOutput output) {
            if (json == null) {
                json = new ObjectMapper();
            }
            ObjectNode node = json.createObjectNode();
            SourceEvents.putIdentity(node, event);
            ObjectNode values = node.putObject("values");
            for (int i = 0; i < fields.size(); i++) {
                values.put(fields.get(i), event.numeric[i]);
            }
            if (event.category != null) {
                node.put("category", event.category);
            }
            SourceEvents.putNumber(node, "score", output.score());
            SourceEvents.putNumber(node, "likelihood", output.likelihood());
            node.put("anomaly", output.likelihood() >= threshold);
            node.put("events_seen", output.eventsSeen());
            EventPrediction prediction = output.prediction();
            ObjectNode next = node.putObject("prediction");
            for (int i = 0; i < fields.size(); i++) {
                ObjectNode field = next.putObject(fields.get(i));
                SourceEvents.putNumber(field, "mean", prediction.mean()[i]);
                SourceEvents.putNumber(field, "std", prediction.std()[i]);
            }
            return new OutputRecord(event.key, node.toString(), event.timestamp);
        }
    }
}
