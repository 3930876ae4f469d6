package io.flinkmamba.event;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flinkmamba.model.ConfigParser;
import io.flinkmamba.model.MambaConfig;
import io.flinkmamba.model.MambaModel;
import io.flinkmamba.model.ModelFingerprint;
import io.flinkmamba.model.ModelFormatException;
import io.flinkmamba.model.ModelLoader;
import io.flinkmamba.model.ModelWriter;
import io.flinkmamba.safetensors.DType;
import io.flinkmamba.safetensors.Safetensors;
import io.flinkmamba.safetensors.SafetensorsException;
import io.flinkmamba.safetensors.TensorInfo;
import io.flinkmamba.safetensors.TensorSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A model of a key's event stream: an input encoder, a feature-input Mamba backbone and heads that predict
 * the next event. The folder holds {@code config.json} (the backbone, {@code vocab_size} 0),
 * {@code model.safetensors} (the backbone under the official {@code mamba_ssm} names, plus the
 * {@code event.*} tensors below) and {@code flink-mamba.json} (schema, normalization, the declared
 * {@code event.*} tensors, the {@link InputTransform} its numeric fields go through before the model).
 *
 * <p>Input: numeric fields x (after the model's {@link #inputTransform}, which its feeder applies) normalized,
 * z = (x - mean) / std, then
 * {@code input = event.encoder.weight z + event.encoder.bias + event.category_embedding.weight[category]}.
 * Heads on the backbone output after the final norm, h:
 * {@code event.gaussian_head} gives (mean, log variance) of each numeric field in normalized units (rows
 * 0..F-1 the means, F..2F-1 the log variances, clamped to +-{@value #LOG_VARIANCE_LIMIT}), and
 * {@code event.category_head} the category logits.
 *
 * <p>{@link #score}: the negative log-likelihood in nats of an event under the prediction, the Gaussian terms
 * in raw units (the density of the raw value; normalized NLL + log std) plus the categorical term.
 */
public final class EventModel {
    public static final String FILE = "flink-mamba.json";
    public static final String FORMAT = "flink-mamba-event-model";
    public static final int VERSION = 1;
    public static final float LOG_VARIANCE_LIMIT = 12f;
    static final String ENCODER_WEIGHT = "event.encoder.weight";
    static final String ENCODER_BIAS = "event.encoder.bias";
    static final String CATEGORY_EMBEDDING = "event.category_embedding.weight";
    static final String GAUSSIAN_WEIGHT = "event.gaussian_head.weight";
    static final String GAUSSIAN_BIAS = "event.gaussian_head.bias";
    static final String CATEGORY_WEIGHT = "event.category_head.weight";
    static final String CATEGORY_BIAS = "event.category_head.bias";
    static final String INPUT_TRANSFORM = "input_transform";
    private static final double HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final EventSchema schema;
    private final float[] mean;
    private final float[] std;
    private final double[] logStd;
    private final MambaModel backbone;
    private final float[] encoderWeight;
    private final float[] encoderBias;
    private final float[] categoryEmbedding;
    private final float[] gaussianWeight;
    private final float[] gaussianBias;
    private final float[] categoryWeight;
    private final float[] categoryBias;
    private final InputTransform inputTransform;
    private final long fingerprint;

    /**
     * An event model from its parts (arrays are kept, not copied); PyTorch layouts, (out, in) row-major.
     *
     * @param mean, std          normalization of each numeric field (std &gt; 0)
     * @param encoderWeight      (d_model, F), null when F = 0
     * @param encoderBias        (d_model)
     * @param categoryEmbedding  (C, d_model), null without a categorical field
     * @param gaussianWeight     (2F, d_model), null when F = 0; gaussianBias (2F)
     * @param categoryWeight     (C, d_model), null without a categorical field; categoryBias (C)
     * @param inputTransform     what the numeric fields go through before {@link #encode} sees them
     */
    public EventModel(EventSchema schema, float[] mean, float[] std, MambaModel backbone, float[] encoderWeight,
                      float[] encoderBias, float[] categoryEmbedding, float[] gaussianWeight, float[] gaussianBias,
                      float[] categoryWeight, float[] categoryBias, InputTransform inputTransform) {
        MambaConfig c = backbone.config();
        if (c.hasLmHead()) {
            throw new IllegalArgumentException("an event model's backbone takes features (vocab_size 0), this one has "
                    + "a vocabulary of " + c.vocabSize());
        }
        int d = c.dModel();
        int f = schema.numericCount();
        int k = schema.categoryCount();
        requireLength("numeric means", mean, f);
        requireLength("numeric stds", std, f);
        for (int i = 0; i < f; i++) {
            if (!(std[i] > 0) || !Float.isFinite(std[i]) || !Float.isFinite(mean[i])) {
                throw new IllegalArgumentException("numeric field '" + schema.numericFields().get(i)
                        + "' has mean " + mean[i] + " and std " + std[i] + " (std must be positive and finite)");
            }
        }
        requireLength(ENCODER_WEIGHT, encoderWeight, f == 0 ? -1 : d * f);
        requireLength(ENCODER_BIAS, encoderBias, d);
        requireLength(CATEGORY_EMBEDDING, categoryEmbedding, k == 0 ? -1 : k * d);
        requireLength(GAUSSIAN_WEIGHT, gaussianWeight, f == 0 ? -1 : 2 * f * d);
        requireLength(GAUSSIAN_BIAS, gaussianBias, f == 0 ? -1 : 2 * f);
        requireLength(CATEGORY_WEIGHT, categoryWeight, k == 0 ? -1 : k * d);
        requireLength(CATEGORY_BIAS, categoryBias, k == 0 ? -1 : k);
        this.schema = schema;
        this.mean = mean;
        this.std = std;
        this.logStd = new double[f];
        for (int i = 0; i < f; i++) {
            logStd[i] = Math.log(std[i]);
        }
        this.backbone = backbone;
        this.encoderWeight = encoderWeight;
        this.encoderBias = encoderBias;
        this.categoryEmbedding = categoryEmbedding;
        this.gaussianWeight = gaussianWeight;
        this.gaussianBias = gaussianBias;
        this.categoryWeight = categoryWeight;
        this.categoryBias = categoryBias;
        this.inputTransform = Objects.requireNonNull(inputTransform, "input transform");
        this.fingerprint = computeFingerprint();
    }

    /** length -1: the array must be null. */
    private static void requireLength(String name, float[] array, int length) {
        if (length < 0 ? array != null : array == null || array.length != length) {
            throw new IllegalArgumentException(name + ": expected " + (length < 0 ? "none" : length + " floats")
                    + ", got " + (array == null ? "none" : array.length));
        }
    }

    /** Whether {@code dir} holds an event model (a {@code flink-mamba.json}). */
    public static boolean isEventModel(Path dir) {
        return Files.isRegularFile(dir.resolve(FILE));
    }

    /** Reads an event model folder; every file is validated (names, shapes, finite values). */
    public static EventModel load(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new ModelFormatException(dir + ": not an event model (no " + FILE + ")");
        }
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelFormatException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        try {
            return read(dir, file, root);
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new ModelFormatException(file + ": " + e.getMessage(), e);
        }
    }

    private static EventModel read(Path dir, Path file, JsonNode root) throws IOException {
        if (!FORMAT.equals(root.path("format").asText()) || root.path("version").asInt() != VERSION) {
            throw new ModelFormatException(file + ": expected format " + FORMAT + " version " + VERSION + ", found "
                    + root.path("format").asText("(none)") + " version " + root.path("version").asText("(none)"));
        }
        List<String> names = new ArrayList<>();
        JsonNode numeric = root.path("numeric_fields");
        float[] mean = new float[numeric.size()];
        float[] std = new float[numeric.size()];
        for (int i = 0; i < numeric.size(); i++) {
            JsonNode field = numeric.get(i);
            names.add(requiredText(file, field, "name"));
            mean[i] = (float) requiredNumber(file, field, "mean");
            std[i] = (float) requiredNumber(file, field, "std");
        }
        JsonNode categorical = root.path("categorical_field");
        String categoricalName = null;
        List<String> categories = new ArrayList<>();
        if (!categorical.isMissingNode() && !categorical.isNull()) {
            categoricalName = requiredText(file, categorical, "name");
            for (JsonNode category : categorical.path("categories")) {
                categories.add(category.asText());
            }
        }
        EventSchema schema = new EventSchema(names, categoricalName, categories);
        InputTransform transform = inputTransform(file, root);
        Set<String> declared = new LinkedHashSet<>();
        for (JsonNode name : root.path("tensors")) {
            if (!name.asText().startsWith("event.")) {
                throw new ModelFormatException(file + ": declared tensor " + name.asText()
                        + " is not an event.* tensor");
            }
            declared.add(name.asText());
        }
        MambaConfig config = ConfigParser.read(dir.resolve("config.json"));
        try (TensorSource tensors = Safetensors.openCheckpoint(dir)) {
            MambaModel backbone = ModelLoader.fromTensors(config, tensors, declared);
            int d = config.dModel();
            int f = schema.numericCount();
            int k = schema.categoryCount();
            Set<String> expected = new LinkedHashSet<>(expectedTensors(schema));
            if (!expected.equals(declared)) {
                throw new ModelFormatException(file + ": declares tensors " + declared + " but its schema needs "
                        + expected);
            }
            return new EventModel(schema, mean, std, backbone,
                    f == 0 ? null : take(tensors, ENCODER_WEIGHT, d, f),
                    take(tensors, ENCODER_BIAS, d),
                    k == 0 ? null : take(tensors, CATEGORY_EMBEDDING, k, d),
                    f == 0 ? null : take(tensors, GAUSSIAN_WEIGHT, 2L * f, d),
                    f == 0 ? null : take(tensors, GAUSSIAN_BIAS, 2L * f),
                    k == 0 ? null : take(tensors, CATEGORY_WEIGHT, k, d),
                    k == 0 ? null : take(tensors, CATEGORY_BIAS, k), transform);
        } catch (SafetensorsException e) {
            throw new ModelFormatException(e.getMessage(), e);
        }
    }

    /** The declared transform; {@link InputTransform#NONE} for a file without the property. */
    private static InputTransform inputTransform(Path file, JsonNode root) throws ModelFormatException {
        JsonNode value = root.get(INPUT_TRANSFORM);
        if (value == null || value.isNull()) {
            return InputTransform.NONE;
        }
        try {
            return InputTransform.fromJsonName(value.asText());
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file + ": " + INPUT_TRANSFORM + ": " + e.getMessage());
        }
    }

    private static String requiredText(Path file, JsonNode node, String field) throws ModelFormatException {
        JsonNode value = node.get(field);
        if (value == null || !value.isTextual() || value.asText().isEmpty()) {
            throw new ModelFormatException(file + ": missing text field '" + field + "' in " + node);
        }
        return value.asText();
    }

    private static double requiredNumber(Path file, JsonNode node, String field) throws ModelFormatException {
        JsonNode value = node.get(field);
        if (value == null || !value.isNumber()) {
            throw new ModelFormatException(file + ": missing number '" + field + "' in " + node);
        }
        return value.asDouble();
    }

    private static float[] take(TensorSource tensors, String name, long... shape)
            throws ModelFormatException, SafetensorsException {
        return ModelLoader.checkedTensor(tensors, name, "the schema and config imply", shape);
    }

    /** The {@code event.*} tensor names a model of this schema has. */
    static List<String> expectedTensors(EventSchema schema) {
        List<String> names = new ArrayList<>();
        if (schema.numericCount() > 0) {
            names.add(ENCODER_WEIGHT);
        }
        names.add(ENCODER_BIAS);
        if (schema.hasCategory()) {
            names.add(CATEGORY_EMBEDDING);
        }
        if (schema.numericCount() > 0) {
            names.add(GAUSSIAN_WEIGHT);
            names.add(GAUSSIAN_BIAS);
        }
        if (schema.hasCategory()) {
            names.add(CATEGORY_WEIGHT);
            names.add(CATEGORY_BIAS);
        }
        return names;
    }

    /** Writes the folder: config.json, model.safetensors (float32) and flink-mamba.json. */
    public void write(Path dir) throws IOException {
        int d = backbone.config().dModel();
        int f = schema.numericCount();
        int k = schema.categoryCount();
        ModelWriter.write(backbone, dir, DType.F32, out -> {
            if (f > 0) {
                out.add(ENCODER_WEIGHT, DType.F32, encoderWeight, d, f);
            }
            out.add(ENCODER_BIAS, DType.F32, encoderBias, d);
            if (k > 0) {
                out.add(CATEGORY_EMBEDDING, DType.F32, categoryEmbedding, k, d);
            }
            if (f > 0) {
                out.add(GAUSSIAN_WEIGHT, DType.F32, gaussianWeight, 2L * f, d);
                out.add(GAUSSIAN_BIAS, DType.F32, gaussianBias, 2L * f);
            }
            if (k > 0) {
                out.add(CATEGORY_WEIGHT, DType.F32, categoryWeight, k, d);
                out.add(CATEGORY_BIAS, DType.F32, categoryBias, k);
            }
        });
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", VERSION);
        ArrayNode numeric = root.putArray("numeric_fields");
        for (int i = 0; i < f; i++) {
            numeric.addObject().put("name", schema.numericFields().get(i)).put("mean", mean[i]).put("std", std[i]);
        }
        if (schema.hasCategory()) {
            ObjectNode categorical = root.putObject("categorical_field");
            categorical.put("name", schema.categoricalField());
            ArrayNode categories = categorical.putArray("categories");
            schema.categories().forEach(categories::add);
        } else {
            root.putNull("categorical_field");
        }
        root.put(INPUT_TRANSFORM, inputTransform.jsonName());
        root.put("input", (inputTransform == InputTransform.RUNNING_STANDARDIZED
                ? "x = each numeric field standardized per key by the running mean and std of its earlier values,"
                + " clipped to +-" + SeriesFeatures.CLIP + "; " : "") + "z = (x - mean) / std; input = event.encoder.weight z + event.encoder.bias"
                + " + event.category_embedding.weight[category]");
        root.put("heads", "on the final-norm hidden h: event.gaussian_head (mean, log variance of z per numeric field,"
                + " log variance clamped to +-" + LOG_VARIANCE_LIMIT + "), event.category_head (category logits)");
        root.put("score", "negative log-likelihood (nats) of the event: Gaussian in raw units + categorical");
        ArrayNode tensors = root.putArray("tensors");
        expectedTensors(schema).forEach(tensors::add);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve(FILE).toFile(), root);
    }

    public MambaModel backbone() { return backbone; }
    public InputTransform inputTransform() { return inputTransform; }
    public EventSchema schema() { return schema; }

    /** Normalization means and standard deviations of the numeric fields (live arrays). */
    public float[] numericMean() { return mean; }
    public float[] numericStd() { return std; }

    public float[] encoderWeight() { return encoderWeight; }
    public float[] encoderBias() { return encoderBias; }
    public float[] categoryEmbedding() { return categoryEmbedding; }
    public float[] gaussianWeight() { return gaussianWeight; }
    public float[] gaussianBias() { return gaussianBias; }
    public float[] categoryWeight() { return categoryWeight; }
    public float[] categoryBias() { return categoryBias; }

    /**
     * A 64-bit identity over the backbone, the encoder, the heads, the normalization and the input transform: a
     * key's state written by another model (or the same backbone with another encoder) is never stepped by this one.
     */
    public long fingerprint() {
        return fingerprint;
    }

    private long computeFingerprint() {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
        sha.update(ByteBuffer.allocate(8).putLong(ModelFingerprint.of(backbone)).array());
        sha.update(schema.toString().getBytes(StandardCharsets.UTF_8));
        if (inputTransform != InputTransform.NONE) { // NONE keeps the fingerprints models had before the property
            sha.update(inputTransform.jsonName().getBytes(StandardCharsets.UTF_8));
        }
        for (float[] t : new float[][] {mean, std, encoderWeight, encoderBias, categoryEmbedding, gaussianWeight,
                gaussianBias, categoryWeight, categoryBias}) {
            if (t == null) {
                sha.update((byte) 0);
                continue;
            }
            ByteBuffer bytes = ByteBuffer.allocate(4 + 4 * t.length).order(ByteOrder.LITTLE_ENDIAN);
            bytes.putInt(t.length);
            bytes.asFloatBuffer().put(t);
            sha.update(bytes.array());
        }
        return ByteBuffer.wrap(sha.digest()).getLong();
    }

    /**
     * Writes the backbone input of {@code event} into {@code input[0..d_model)}.
     *
     * @throws IllegalArgumentException for a non-finite numeric field or an unset/unknown category
     */
    public void encode(EventFields event, float[] input) {
        requireValid(event);
        int d = backbone.config().dModel();
        int f = schema.numericCount();
        float[] x = event.numeric();
        System.arraycopy(encoderBias, 0, input, 0, d);
        for (int i = 0; i < f; i++) {
            float z = (x[i] - mean[i]) / std[i];
            for (int j = 0; j < d; j++) {
                input[j] += encoderWeight[j * f + i] * z;
            }
        }
        if (schema.hasCategory()) {
            int o = event.category() * d;
            for (int j = 0; j < d; j++) {
                input[j] += categoryEmbedding[o + j];
            }
        }
    }

    private static void requireValid(EventFields event) {
        String problem = event.problem();
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
    }

    /** The prediction of the next event from {@code hidden[0..d_model)} (backbone output after the final norm). */
    public EventPrediction predict(float[] hidden) {
        int f = schema.numericCount();
        float[] m = new float[f];
        float[] s = new float[f];
        for (int i = 0; i < f; i++) {
            m[i] = (float) (mean[i] + std[i] * head(gaussianWeight, gaussianBias, i, hidden));
            s[i] = (float) (std[i] * Math.exp(0.5 * logVariance(hidden, i)));
        }
        float[] p = new float[schema.categoryCount()];
        if (schema.hasCategory()) {
            double[] logits = categoryLogits(hidden);
            double logSum = logSumExp(logits, max(logits));
            for (int c = 0; c < p.length; c++) {
                p[c] = (float) Math.exp(logits[c] - logSum);
            }
        }
        return new EventPrediction(m, s, p);
    }

    /** An event's {@link #score} and {@link #improbability}, computed together in one pass over the heads. */
    public record Assessment(double score, double improbability) {}

    /**
     * The negative log-likelihood in nats of {@code event} under {@link #predict}{@code (hidden)}: for each
     * numeric field 0.5 log(2 pi) + log(sigma) + 0.5 ((x - mu) / sigma)^2 in raw units, plus
     * -log p(category).
     *
     * @throws IllegalArgumentException for a non-finite numeric field or an unset/unknown category
     */
    public double score(float[] hidden, EventFields event) {
        return assess(hidden, event).score();
    }

    /**
     * How improbable {@code event} is under {@link #predict}{@code (hidden)}, bounded in [0, 1]:
     * 1 - p(event) / p(most probable event), that is 1 - exp(-(score - score of the most probable event)),
     * with the excess 0.5 ((x - mu) / sigma)^2 per numeric field plus log p(most probable category) -
     * log p(category). 0 for the predicted event itself; unlike the score, it does not depend on the
     * predicted spread or the units, and one far-off value cannot outweigh a stretch of others.
     *
     * @throws IllegalArgumentException for a non-finite numeric field or an unset/unknown category
     */
    public double improbability(float[] hidden, EventFields event) {
        return assess(hidden, event).improbability();
    }

    /**
     * {@link #score} and {@link #improbability} of {@code event}, the heads evaluated once for both.
     *
     * @throws IllegalArgumentException for a non-finite numeric field or an unset/unknown category
     */
    public Assessment assess(float[] hidden, EventFields event) {
        requireValid(event);
        double nll = 0;
        double aboveMode = 0; // the NLL's excess over that of the most probable event
        float[] x = event.numeric();
        for (int i = 0; i < schema.numericCount(); i++) {
            double mu = head(gaussianWeight, gaussianBias, i, hidden);
            double logVar = logVariance(hidden, i);
            double z = (x[i] - mean[i]) / std[i];
            double r = z - mu;
            double excess = 0.5 * r * r * Math.exp(-logVar);
            nll += HALF_LOG_2PI + 0.5 * logVar + logStd[i] + excess;
            aboveMode += excess;
        }
        if (schema.hasCategory()) {
            double[] logits = categoryLogits(hidden);
            double max = max(logits);
            double actual = logits[event.category()];
            nll += logSumExp(logits, max) - actual;
            aboveMode += max - actual;
        }
        return new Assessment(nll, -Math.expm1(-aboveMode));
    }

    private double logVariance(float[] hidden, int field) {
        double raw = head(gaussianWeight, gaussianBias, schema.numericCount() + field, hidden);
        return Math.max(-LOG_VARIANCE_LIMIT, Math.min(LOG_VARIANCE_LIMIT, raw));
    }

    private static double max(double[] values) {
        double max = values[0];
        for (int i = 1; i < values.length; i++) {
            max = Math.max(max, values[i]);
        }
        return max;
    }

    /** log(sum exp(logits)), shifted by their largest, {@code max}, so that no exponent overflows. */
    private static double logSumExp(double[] logits, double max) {
        double sum = 0;
        for (double l : logits) {
            sum += Math.exp(l - max);
        }
        return max + Math.log(sum);
    }

    private double[] categoryLogits(float[] hidden) {
        double[] logits = new double[schema.categoryCount()];
        for (int c = 0; c < logits.length; c++) {
            logits[c] = head(categoryWeight, categoryBias, c, hidden);
        }
        return logits;
    }

    /** bias[row] + weight[row] . hidden, in double. */
    private double head(float[] weight, float[] bias, int row, float[] hidden) {
        int d = backbone.config().dModel();
        double acc = bias[row];
        int o = row * d;
        for (int j = 0; j < d; j++) {
            acc += (double) weight[o + j] * hidden[j];
        }
        return acc;
    }
}
