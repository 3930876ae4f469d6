package io.flinkmamba.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flinkmamba.event.DefaultEventModel;
import io.flinkmamba.event.EventModel;
import io.flinkmamba.event.EventSchema;
import io.flinkmamba.event.InputTransform;
import io.flinkmamba.train.EventTrainer;
import io.flinkmamba.train.TrainingListener;
import io.flinkmamba.train.TrainingOptions;
import io.flinkmamba.train.TrainingResult;
import org.apache.kafka.common.KafkaException;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Help.Visibility;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * Trains an event model on keyed events from a CSV or JSON-lines file or a Kafka topic (a bounded snapshot,
 * {@link TopicSnapshot}) and writes the model folder
 * ({@code config.json}, {@code model.safetensors}, {@code flink-mamba.json}) and {@code loss-curve.html}.
 * With {@code --token-field}, a token language model in the official {@code mamba_ssm} form instead (no
 * {@code flink-mamba.json}), its vocabulary (the field's values, sorted; token id = position) in
 * {@code vocab.json}. With {@code --from}, fine-tunes an existing event model (a folder or the shipped default).
 * Progress: a live line on a terminal, else one line per epoch. The last line is
 * {@code trained epochs=... train_nll=... validation_nll=... events_per_s=... model=DIR}.
 */
@Command(name = "train",
        mixinStandardHelpOptions = true,
        description = {"Trains an event model (numeric fields through a Gaussian head, an optional categorical field"
                + " through a softmax head, a Mamba-1 backbone) on keyed events from a CSV file with a header row,"
                + " from JSON lines, or from a Kafka topic of JSON events, and writes a model folder the operator"
                + " loads with nothing else, plus loss-curve.html.",
                "A topic is read as of the start: every partition from its earliest offset to its end offset then,"
                        + " partition after partition, read_committed (records of aborted transactions are skipped).",
                "With --token-field, a token language model in the official mamba_ssm format instead (config.json"
                        + " and model.safetensors; the field's values, sorted, are the tokens, saved in vocab.json).",
                "Keys are split into training and validation; training stops early when the validation loss has"
                        + " not improved for --patience epochs, and the best epoch is kept."})
final class TrainCommand implements Callable<Integer> {
    static final String VOCABULARY_FILE = "vocab.json";

    @ArgGroup(exclusive = true, multiplicity = "1", heading = "Events from a file or a Kafka topic:%n")
    Source source;

    static final class Source {
        @ArgGroup(exclusive = false)
        FileSource file;

        @ArgGroup(exclusive = false)
        KafkaSource kafka;
    }

    static final class FileSource {
        @Option(names = "--input", required = true, paramLabel = "FILE", description = "CSV (header row) or JSON-lines file of events.")
        Path input;

        @Option(names = "--format", defaultValue = "auto",
                description = "csv, jsonl, or auto: by the extension, .jsonl/.ndjson/.json are JSON lines"
                        + " (default auto).")
        String format;
    }

    static final class KafkaSource {
        @Option(names = "--kafka-bootstrap", required = true, paramLabel = "HOST:PORT[,...]",
                description = "Kafka bootstrap servers (instead of --input).")
        String bootstrapServers;

        @Option(names = "--kafka-topic", required = true, paramLabel = "TOPIC",
                description = "Topic whose record values are JSON events (the fields as in JSON lines).")
        String topic;

        @Option(names = "--kafka-property", paramLabel = "KEY=VALUE",
                description = "Kafka consumer property, repeatable (e.g. security.protocol=SASL_SSL,"
                        + " sasl.jaas.config=...). default.api.timeout.ms (default " + TopicSnapshot.DEFAULT_TIMEOUT_MS
                        + ") bounds each wait for the broker.")
        Map<String, String> properties = new LinkedHashMap<>();

        @Option(names = "--max-events", paramLabel = "N", defaultValue = "" + Long.MAX_VALUE, showDefaultValue = Visibility.NEVER,
                description = "Read at most this many records (partition after partition; default: all).")
        long maxEvents;
    }

    @Option(names = "--key", required = true, description = "Field holding the key.")
    String keyField;

    @Option(names = "--time", required = true,
            description = "Field holding the timestamp: epoch milliseconds, an ISO-8601 instant, or a local date-time"
                    + " (read as UTC). Each key's events are ordered by it.")
    String timeField;

    @Option(names = "--numeric", split = ",", description = "Numeric fields, comma-separated.")
    List<String> numericFields = List.of();

    @Option(names = "--category", description = "Categorical field (its vocabulary is the values seen).")
    String categoryField;

    @Option(names = "--token-field",
            description = "Train a token language model on this field's values (instead of --numeric/--category).")
    String tokenField;

    @Option(names = "--out", required = true, description = "Output folder for the model and loss-curve.html.")
    Path out;

    @Option(names = "--d-model", defaultValue = "32", description = "Backbone width (default 32).")
    int dModel;

    @Option(names = "--layers", defaultValue = "2", description = "Mamba-1 layers (default 2).")
    int layers;

    @Option(names = "--d-state", defaultValue = "16", description = "SSM state size (default 16).")
    int dState;

    @Option(names = "--epochs", defaultValue = "20", description = "Most epochs (default 20).")
    int epochs;

    @Option(names = "--bptt", defaultValue = "64", description = "Events per backpropagation stretch (default 64).")
    int bptt;

    @Option(names = "--lr", defaultValue = "3e-3", description = "Peak learning rate (default 3e-3).")
    double learningRate;

    @Option(names = "--weight-decay", defaultValue = "0.01", description = "AdamW weight decay (default 0.01).")
    double weightDecay;

    @Option(names = "--batch-size", defaultValue = "16", description = "Keys per optimizer batch (default 16).")
    int batchSize;

    @Option(names = "--threads", defaultValue = "0", description = "Worker threads (default 0: one per core).")
    int threads;

    @Option(names = "--seed", defaultValue = "42", description = "Random seed (default 42).")
    long seed;

    @Option(names = "--validation-share", defaultValue = "0.2",
            description = "Share of the keys held out for validation and early stopping (default 0.2).")
    double validationShare;

    @Option(names = "--patience", defaultValue = "3",
            description = "Epochs without a better validation loss before stopping (default 3).")
    int patience;

    @Option(names = "--input-transform", paramLabel = "none|running_standardized",
            description = "What the numeric fields go through before the model, declared in the model file:"
                    + " none (the raw values), or running_standardized (each field standardized per key by the"
                    + " running mean and standard deviation of the key's earlier values, clipped to +-5; the"
                    + " trainer applies it to the raw values it reads). Default none; with --from, the model's.")
    String inputTransform;

    @Option(names = "--from", paramLabel = "DIR|default",
            description = "Fine-tune this event model instead of training a new one: a model folder, or default"
                    + " (also " + DefaultEventModel.SETTING + ") for the shipped default model. Training starts"
                    + " from its weights and keeps its size and normalization (--d-model, --layers, --d-state are"
                    + " not used); the events must have its schema (the same --numeric field names and categories)"
                    + " and --input-transform, if given, must be its own. --epochs 0 writes it unchanged.")
    String from;

    @Option(names = "--skip-invalid", description = "Skip (and count) invalid rows or records instead of failing on the first.")
    boolean skipInvalid;

    @Option(names = "--progress", defaultValue = "auto",
            description = "live (one updating line), lines (one line per epoch), or auto: live on a terminal"
                    + " (default auto).")
    String progress;

    @Override
    public Integer call() throws IOException {
        PrintStream outStream = System.out;
        if (tokenField != null && (!numericFields.isEmpty() || categoryField != null)) {
            System.err.println("train: --token-field trains a token language model; it takes no --numeric or --category");
            return 2;
        }
        InputTransform transform;
        try {
            transform = inputTransform == null ? null : InputTransform.fromJsonName(inputTransform);
        } catch (IllegalArgumentException e) {
            System.err.println("train: --input-transform: " + e.getMessage());
            return 2;
        }
        EventModel start = null;
        if (from != null) {
            if (tokenField != null) {
                System.err.println("train: --from fine-tunes an event model; it takes no --token-field");
                return 2;
            }
            try {
                start = EventModel.load(from.equals("default") ? DefaultEventModel.materialize()
                        : DefaultEventModel.resolve(from));
            } catch (IOException e) {
                System.err.println("train: --from " + from + ": " + e.getMessage());
                return 2;
            }
            if (transform != null && transform != start.inputTransform()) {
                System.err.println("train: --from " + from + ": the model takes input transform "
                        + start.inputTransform().jsonName() + ", not " + transform.jsonName());
                return 2;
            }
            transform = start.inputTransform();
        } else if (transform == null) {
            transform = InputTransform.NONE;
        }
        if (tokenField != null && transform != InputTransform.NONE) {
            System.err.println("train: --input-transform applies to numeric fields; a token language model has none");
            return 2;
        }
        if (numericFields.isEmpty() && categoryField == null && tokenField == null) {
            System.err.println("train: give --numeric fields, a --category field, or both (or a --token-field)");
            return 2;
        }
        KafkaSource kafka = source.kafka;
        if (kafka != null && kafka.maxEvents < 1) {
            System.err.println("train: --max-events must be at least 1");
            return 2;
        }
        EventFile eventFile = new EventFile(keyField, timeField, numericFields,
                tokenField != null ? tokenField : categoryField, skipInvalid);
        String sourceName = kafka != null ? "topic " + kafka.topic : source.file.input.toString();
        EventFile.Contents contents;
        TrainingOptions options;
        try {
            if (kafka != null) {
                EventFile.Events topicEvents = eventFile.events();
                TopicSnapshot.read(kafka.bootstrapServers, kafka.properties, kafka.topic, kafka.maxEvents, topicEvents);
                contents = topicEvents.contents(sourceName);
            } else {
                contents = eventFile.read(source.file.input, source.file.format);
            }
            options = new TrainingOptions(dModel, layers, dState, epochs, bptt, learningRate, weightDecay, 1.0,
                    threads > 0 ? threads : Runtime.getRuntime().availableProcessors(), seed, validationShare,
                    patience, batchSize, transform);
        } catch (IllegalArgumentException e) {
            System.err.println("train: " + e.getMessage());
            return 1;
        } catch (KafkaException e) {
            Throwable cause = e.getCause();
            boolean causeSaysMore = cause != null && cause.getMessage() != null
                    && !e.getMessage().contains(cause.getMessage());
            System.err.println("train: " + e.getMessage() + (causeSaysMore ? ": " + cause.getMessage() : ""));
            return 1;
        }
        if (start != null && !start.schema().equals(contents.schema())) {
            System.err.println("train: --from " + from + ": the model's schema is " + describe(start.schema())
                    + ", the events' " + describe(contents.schema()));
            return 1;
        }
        String skipped = contents.skipped() > 0 ? " (" + contents.skipped() + " invalid rows skipped)" : "";
        if (tokenField != null) {
            outStream.printf(Locale.ROOT, "train: %d events of %d keys from %s%s; token language model on %s, %d tokens%n",
                    contents.events(), contents.sequences().size(), sourceName, skipped, tokenField,
                    contents.schema().categoryCount());
        } else {
            outStream.printf(Locale.ROOT, "train: %d events of %d keys from %s%s; numeric %s, category %s%n",
                    contents.events(), contents.sequences().size(), sourceName, skipped,
                    contents.schema().numericFields(), categoryField == null ? "none"
                            : categoryField + " " + contents.schema().categories());
        }
        boolean live = progress.equals("live") || (progress.equals("auto") && System.console() != null);
        TrainingListener listener = new TrainingListener() {
            @Override
            public void epoch(int epoch, double train, double validation) {
                outStream.printf(Locale.ROOT, "%sepoch %d/%d train_nll=%.5f validation_nll=%.5f%n", live ? "\r" : "",
                        epoch, epochs, train, validation);
            }

            @Override
            public void batch(int epoch, int done, int total, double loss) {
                if (live) {
                    outStream.printf(Locale.ROOT, "\repoch %d/%d [%-30s] %d/%d batch_nll=%.4f", epoch, epochs,
                            "=".repeat(30 * done / total), done, total, loss);
                    outStream.flush();
                }
            }
        };
        TrainingResult result;
        try {
            result = tokenField != null
                    ? EventTrainer.trainLanguageModel(contents.schema().categoryCount(), contents.sequences(), options,
                            out, listener)
                    : start != null ? EventTrainer.fineTune(start, contents.sequences(), options, out, listener)
                    : EventTrainer.train(contents.schema(), contents.sequences(), options, out, listener);
        } catch (IllegalArgumentException e) {
            System.err.println("train: " + e.getMessage());
            return 1;
        }
        Files.createDirectories(out);
        if (tokenField != null) {
            writeVocabulary(out.resolve(VOCABULARY_FILE), contents.schema().categories());
        }
        LossCurve.write(out.resolve("loss-curve.html"), "flink-mamba training: "
                + (kafka != null ? sourceName : source.file.input.getFileName()),
                result.curve());
        outStream.printf(Locale.ROOT, "trained epochs=%d train_nll=%.5f validation_nll=%.5f events_per_s=%.0f model=%s%n",
                result.epochs(), result.trainLoss(), result.validationLoss(), result.eventsPerSecond(), out);
        return 0;
    }

    private static String describe(EventSchema schema) {
        return "numeric " + schema.numericFields() + (schema.hasCategory()
                ? ", category " + schema.categoricalField() + " " + schema.categories() : ", no category");
    }

    /** {@code {"format": "flink-mamba-vocabulary", "version": 1, "field": ..., "tokens": [...]}}: id = position. */
    private void writeVocabulary(Path file, List<String> tokens) throws IOException {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("format", "flink-mamba-vocabulary");
        root.put("version", 1);
        root.put("field", tokenField);
        ArrayNode array = root.putArray("tokens");
        tokens.forEach(array::add);
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(file.toFile(), root);
    }
}
