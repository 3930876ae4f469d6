package io.flinkmamba.jobs.session;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flinkmamba.event.EventModel;
import io.flinkmamba.event.EventSchema;
import io.flinkmamba.jobs.common.ConfigException;
import io.flinkmamba.jobs.common.EventMapping;
import io.flinkmamba.jobs.common.JobConfig;
import io.flinkmamba.jobs.common.KafkaPipeline;
import io.flinkmamba.jobs.common.SourceEvent;
import io.flinkmamba.jobs.common.SourceEvents;
import io.flinkmamba.model.ConfigParser;
import io.flinkmamba.model.MambaConfig;
import io.flinkmamba.model.ModelFormatException;
import io.flinkmamba.operator.MambaOperatorBuilder;
import io.flinkmamba.operator.MambaOptions;
import io.flinkmamba.operator.MambaOutput;
import io.flinkmamba.operator.OutputMapper;
import io.flinkmamba.operator.MambaStream;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * The session job: categorical events per session key (a user, a device) -> for each event its surprise
 * (negative log-likelihood in nats under the prediction made after the previous event of the session), the
 * top-k most likely next events, a session-start flag, optionally the session embedding; and a
 * {@code session_end} record once a key has been idle for the session gap. The model is either an event model
 * ({@code flink-mamba.json}) with one categorical field and no numeric ones, whose vocabulary is the
 * categories, or a token model whose first tokens are {@code mapping.categories}.
 */
public final class SessionJob {
    public static final String NAME = "session";

    private SessionJob() {}

    public static List<ConfigOption<?>> options() {
        return SessionOptions.all();
    }

    /** Validates the settings, including the model folder against the mapping. */
    public static JobConfig configure(Map<String, String> settings) throws ConfigException {
        return JobConfig.of(settings, options(), "flink-mamba-session", (config, problems) -> {
            config.require(SessionOptions.CATEGORICAL_FIELD, problems);
            config.atLeast(SessionOptions.TOP_K, 1, problems);
            if (config.get(MambaOptions.SESSION_GAP).isZero()) {
                problems.add("setting 'mamba.session.gap' is required by the session job (the idle time that ends a session)");
            }
            if (!config.get(MambaOptions.SESSION_EVENT_TIME)) {
                problems.add("setting 'mamba.session.event-time' must be true in the session job (sessions end in event time)");
            }
            if (problems.isEmpty()) {
                checkModel(config, problems);
            }
        });
    }

    private static void checkModel(JobConfig config, List<String> problems) {
        if (EventModel.isEventModel(config.modelDir())) {
            checkEventModel(config, problems);
            return;
        }
        java.nio.file.Path configJson = config.modelDir().resolve("config.json");
        if (!Files.isRegularFile(configJson)) {
            problems.add("setting 'mamba.model-dir': " + config.modelDir() + " holds no config.json");
            return;
        }
        MambaConfig model;
        try {
            model = ConfigParser.read(configJson);
        } catch (ModelFormatException e) {
            problems.add("setting 'mamba.model-dir': " + e.getMessage());
            return;
        }
        if (!config.configuration().contains(SessionOptions.CATEGORIES)) {
            problems.add("missing required setting 'mapping.categories' (the token model in " + config.modelDir()
                    + " has no vocabulary of its own)");
            return;
        }
        List<String> categories = config.get(SessionOptions.CATEGORIES);
        if (model.vocabSize() == 0) {
            problems.add("setting 'mamba.model-dir': the model in " + config.modelDir()
                    + " takes feature vectors, the session job needs a token model (vocab_size > 0) or an event model");
        } else if (categories.size() > model.vocabSize()) {
            problems.add("setting 'mapping.categories': " + categories.size() + " categories, more than the model's vocab_size "
                    + model.vocabSize() + " (" + config.modelDir() + ")");
        }
        if (categories.stream().distinct().count() != categories.size()) {
            problems.add("setting 'mapping.categories': lists a category twice");
        }
    }

    private static void checkEventModel(JobConfig config, List<String> problems) {
        EventSchema schema;
        try {
            schema = EventModel.load(config.modelDir()).schema();
        } catch (IOException e) {
            problems.add("setting 'mamba.model-dir': " + e.getMessage());
            return;
        }
        if (schema.categoricalField() == null || !schema.numericFields().isEmpty()) {
            problems.add("setting 'mamba.model-dir': the event model in " + config.modelDir() + " has numeric fields "
                    + schema.numericFields() + " and categorical field " + schema.categoricalField()
                    + "; the session job needs a categorical field only");
            return;
        }
        String field = config.get(SessionOptions.CATEGORICAL_FIELD);
        if (!schema.categoricalField().equals(field)) {
            problems.add("setting 'mapping.categorical-field': '" + field + "' does not match the model's categorical field '"
                    + schema.categoricalField() + "'");
        }
        if (config.configuration().contains(SessionOptions.CATEGORIES)
                && !config.get(SessionOptions.CATEGORIES).equals(schema.categories())) {
            problems.add("setting 'mapping.categories': " + config.get(SessionOptions.CATEGORIES)
                    + " differs from the event model's vocabulary " + schema.categories() + " (leave it out)");
        }
    }

    /**
     * Builds the job into {@code env}; {@code tap} sees the parsed events before the operator (identity in
     * production; tests inject failures there).
     */
    public static void build(StreamExecutionEnvironment env, JobConfig config, UnaryOperator<DataStream<SourceEvent>> tap)
            throws IOException {
        boolean eventModel = EventModel.isEventModel(config.modelDir());
        List<String> categories = eventModel ? EventModel.load(config.modelDir()).schema().categories()
                : config.get(SessionOptions.CATEGORIES);
        EventMapping mapping = EventMapping.from(config, List.of(), config.get(SessionOptions.CATEGORICAL_FIELD), categories);
        KafkaPipeline pipeline = new KafkaPipeline(env, config);
        DataStream<SourceEvent> events = tap.apply(pipeline.events(mapping));

        MambaOperatorBuilder<SourceEvent, SessionResult> builder = MambaOperatorBuilder
                .<SourceEvent, SessionResult>forModel(config.modelDir())
                .configure(config.configuration())
                .eventTimeOrdering(true)
                .outputMapper(new Results(categories, config.get(SessionOptions.TOP_K), config.get(SessionOptions.EMBEDDING)),
                        TypeInformation.of(SessionResult.class));
        if (eventModel) {
            builder.eventExtractor((event, fields) -> fields.category(event.categoryIndex));
        } else {
            builder.inputEncoder((event, input) -> input.token(event.categoryIndex));
        }
        MambaStream<SourceEvent, SessionResult> scored = builder.applyTo(events.keyBy(event -> event.key));
        scored.results().uid("mamba").name("mamba");
        pipeline.deadLetters(scored);
        pipeline.results(scored.results()
                .keyBy(result -> result.key)
                .process(new SessionEnds(config.get(MambaOptions.SESSION_GAP).toMillis()))
                .uid("session-ends").name("session ends"));
        pipeline.finish();
    }

    /** The JSON of one event's result (schema in the README). */
    static final class Results implements OutputMapper<SourceEvent, SessionResult> {
        private final List<String> categories;
        private final int topK;
        private final boolean embedding;
        private transient ObjectMapper json;

        Results(List<String> categories, int topK, boolean embedding) {
            this.categories = categories;
            this.topK = topK;
            this.embedding = embedding;
        }

        @Override
        public SessionResult map(SourceEvent event, MambaOutput output) {
            if (json == null) {
                json = new ObjectMapper();
            }
            ObjectNode node = json.createObjectNode();
            node.put("type", "event");
            SourceEvents.putIdentity(node, event);
            node.put("event", event.category);
            SourceEvents.putNumber(node, "surprise", output.score());
            node.put("session_start", output.sessionStart());
            node.put("session_events", output.eventsSeen());
            ArrayNode next = node.putArray("next");
            double[] probabilities = output.logits() != null ? softmax(output.logits())
                    : toDoubles(output.prediction().categoryProbabilities());
            for (int index : topIndices(probabilities, Math.min(topK, categories.size()))) {
                next.addObject().put("event", categories.get(index)).put("probability", probabilities[index]);
            }
            if (embedding) {
                ArrayNode vector = node.putArray("embedding");
                for (float value : output.hidden()) {
                    vector.add(value);
                }
            }
            return new SessionResult(event.key, event.timestamp, output.sessionStart(), node.toString());
        }

        private static double[] toDoubles(float[] values) {
            double[] d = new double[values.length];
            for (int i = 0; i < values.length; i++) {
                d[i] = values[i];
            }
            return d;
        }

        /** Softmax over the whole vocabulary (as the surprise is), in double precision. */
        private static double[] softmax(float[] logits) {
            double max = Double.NEGATIVE_INFINITY;
            for (float logit : logits) {
                max = Math.max(max, logit);
            }
            double[] p = new double[logits.length];
            double sum = 0;
            for (int i = 0; i < logits.length; i++) {
                p[i] = Math.exp(logits[i] - max);
                sum += p[i];
            }
            for (int i = 0; i < p.length; i++) {
                p[i] /= sum;
            }
            return p;
        }

        /** The k most probable of the first categories.size() tokens, most probable first. */
        private int[] topIndices(double[] p, int k) {
            int[] top = new int[k];
            int filled = 0;
            for (int i = 0; i < categories.size(); i++) {
                int at = filled < k ? filled++ : k;
                if (at == k && p[i] <= p[top[k - 1]]) {
                    continue;
                }
                at = Math.min(at, k - 1);
                while (at > 0 && p[top[at - 1]] < p[i]) {
                    top[at] = top[at - 1];
                    at--;
                }
                top[at] = i;
            }
            return top;
        }
    }
}
