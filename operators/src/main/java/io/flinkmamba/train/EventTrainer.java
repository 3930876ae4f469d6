package io.flinkmamba.train;

import io.flinkmamba.engine.CpuEngine;
import io.flinkmamba.engine.MambaEngine;
import io.flinkmamba.event.EventFields;
import io.flinkmamba.event.EventModel;
import io.flinkmamba.event.EventModels;
import io.flinkmamba.event.EventSchema;
import io.flinkmamba.event.InputTransform;
import io.flinkmamba.event.SeriesFeatures;
import io.flinkmamba.model.MambaConfig;
import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.model.MambaModel;
import io.flinkmamba.model.ModelWriter;
import io.flinkmamba.model.RandomModels;
import io.flinkmamba.safetensors.DType;
import io.flinkmamba.train.EventNetwork.Encoded;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Trains an event model on keyed event sequences on the CPU: truncated backpropagation through time over
 * {@link EventNetwork} (the engine's forward math), AdamW with decoupled weight decay, global gradient norm
 * clipping, linear warmup then cosine decay of the learning rate, worker threads over the sequences of a
 * batch. Deterministic for a seed whatever the thread count: each sequence's gradient goes into its own
 * buffer and the buffers are summed in batch order. Keys are split into training and validation by the
 * seed; after every epoch the validation loss is measured through the CPU engine and
 * {@link EventModel#score} (what the operator reports), the best epoch's weights are kept, and training
 * stops after {@code patience} epochs without improvement. The sequences hold raw values: with
 * {@link InputTransform#RUNNING_STANDARDIZED} the trainer standardizes each sequence field by field
 * ({@link SeriesFeatures#next}, a sequence being one key) before anything else, training and validation alike.
 */
public final class EventTrainer {
    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.999;
    private static final double ADAM_EPS = 1e-8;
    private static final int WARMUP_STEPS = 10;
    private static final double FINAL_LR_FRACTION = 0.1;
    private static final int PAD_VOCAB_SIZE_MULTIPLE = 8;
    private static final float EMBEDDING_INIT_STD = 0.02f;

    private final EventSchema schema;
    private final TrainingOptions options;
    private final ParameterLayout layout;
    private final EventNetwork network;
    private final float[] mean;
    private final float[] std;
    private final double logStdSum;

    private EventTrainer(EventSchema schema, TrainingOptions options, MambaConfig config, float[] mean, float[] std) {
        this.schema = schema;
        this.options = options;
        this.layout = new ParameterLayout(schema, config);
        this.network = new EventNetwork(layout);
        this.mean = mean;
        this.std = std;
        double sum = 0;
        for (float s : std) {
            sum += Math.log(s);
        }
        this.logStdSum = sum;
    }

    public static TrainingResult train(EventSchema schema, List<TrainingSequence> sequences, TrainingOptions options,
                                       Path outDir, TrainingListener listener) throws IOException {
        requireEpochs(options);
        for (TrainingSequence s : sequences) {
            check(schema, s);
        }
        Split split = split(modelInput(sequences, options.inputTransform()), options, "events");
        float[][] normalization = normalization(schema, split.train);
        EventModel initial = EventModels.random(schema, normalization[0], normalization[1], options.dModel(),
                options.nLayer(), options.dState(), options.seed());
        EventTrainer trainer = new EventTrainer(schema, options, initial.backbone().config(), normalization[0],
                normalization[1]);
        return trainer.run(trainer.layout.flatten(initial), split, outDir, listener);
    }

    /**
     * Fine-tunes {@code start} on {@code sequences} (raw values of its schema): training begins at its weights,
     * keeps its normalization, backbone size and input transform (the options' d_model, n_layer and d_state
     * are not used), and writes the best epoch's model; with 0 epochs, {@code start} itself.
     *
     * @throws IllegalArgumentException when the options' input transform is not the model's, or the
     *                                  sequences do not fit its schema
     */
    public static TrainingResult fineTune(EventModel start, List<TrainingSequence> sequences, TrainingOptions options,
                                          Path outDir, TrainingListener listener) throws IOException {
        if (options.inputTransform() != start.inputTransform()) {
            throw new IllegalArgumentException("the model to fine-tune takes input transform "
                    + start.inputTransform().jsonName() + ", the training asks for "
                    + options.inputTransform().jsonName());
        }
        EventSchema schema = start.schema();
        for (TrainingSequence s : sequences) {
            check(schema, s);
        }
        Split split = split(modelInput(sequences, options.inputTransform()), options, "events");
        EventTrainer trainer = new EventTrainer(schema, options, start.backbone().config(), start.numericMean(),
                start.numericStd());
        return trainer.run(trainer.layout.flatten(start), split, outDir, listener);
    }

    private static void requireEpochs(TrainingOptions options) {
        if (options.epochs() < 1) {
            throw new IllegalArgumentException("a new model needs at least 1 epoch of training, got " + options.epochs());
        }
    }

    /**
     * Trains a token language model in the official {@code mamba_ssm} form: {@code backbone.embedding.weight},
     * the Mamba-1 layers, {@code backbone.norm_f.weight} and the LM head tied to the embedding
     * ({@code tie_embeddings}, the official default), written as {@code config.json} + {@code model.safetensors}
     * with nothing else. Each sequence's {@link TrainingSequence#category()} holds its token ids (no numeric
     * values, see {@link TrainingSequence#tokens}); the vocabulary is padded to a multiple of
     * {@value #PAD_VOCAB_SIZE_MULTIPLE} as {@code mamba_ssm} pads it (the padding rows are trained towards
     * probability zero). The loss is the mean NLL per predicted token, the operator's score of a token model.
     */
    public static TrainingResult trainLanguageModel(int vocabSize, List<TrainingSequence> sequences,
                                                    TrainingOptions options, Path outDir, TrainingListener listener)
            throws IOException {
        requireEpochs(options);
        if (vocabSize < 1) {
            throw new IllegalArgumentException("vocabulary size must be positive, got " + vocabSize);
        }
        int padded = (vocabSize + PAD_VOCAB_SIZE_MULTIPLE - 1) / PAD_VOCAB_SIZE_MULTIPLE * PAD_VOCAB_SIZE_MULTIPLE;
        List<String> ids = new ArrayList<>(padded);
        for (int i = 0; i < padded; i++) {
            ids.add(Integer.toString(i));
        }
        EventSchema schema = new EventSchema(List.of(), "token", ids);
        for (TrainingSequence s : sequences) {
            check(schema, s);
            for (int t = 0; t < s.length(); t++) {
                if (s.category()[t] >= vocabSize) {
                    throw new IllegalArgumentException("key " + s.key() + " event " + t + ": token " + s.category()[t]
                            + " outside 0.." + (vocabSize - 1));
                }
            }
        }
        Split split = split(sequences, options, "tokens");
        MambaConfig config = RandomModels.config(LayerType.MAMBA1, options.dModel(), options.nLayer(), padded,
                options.dState());
        MambaModel random = RandomModels.create(config, options.seed(), 0f);
        float[] embedding = random.embedding().clone();
        for (int i = 0; i < embedding.length; i++) {
            embedding[i] *= EMBEDDING_INIT_STD; // mamba_ssm's nn.init.normal_(std=0.02); the head is tied to it
        }
        MambaModel initial = new MambaModel(config, embedding, random.layers(), random.normF(), null, embedding);
        EventTrainer trainer = new EventTrainer(schema, options, config, new float[0], new float[0]);
        return trainer.run(trainer.layout.flatten(initial), split, outDir, listener);
    }

    /** The values the model sees: the sequences as they are, or each one standardized field by field. */
    private static List<TrainingSequence> modelInput(List<TrainingSequence> sequences, InputTransform transform) {
        if (transform == InputTransform.NONE) {
            return sequences;
        }
        List<TrainingSequence> out = new ArrayList<>(sequences.size());
        for (TrainingSequence s : sequences) {
            int f = s.length() == 0 ? 0 : s.numeric()[0].length;
            double[][] states = new double[f][];
            for (int i = 0; i < f; i++) {
                states[i] = SeriesFeatures.newState();
            }
            double[][] standardized = new double[s.length()][f];
            for (int t = 0; t < s.length(); t++) {
                for (int i = 0; i < f; i++) {
                    standardized[t][i] = SeriesFeatures.next(states[i], s.numeric()[t][i]).normalized();
                }
            }
            out.add(new TrainingSequence(s.key(), standardized, s.category()));
        }
        return out;
    }

    private static void check(EventSchema schema, TrainingSequence s) {
        int f = schema.numericCount();
        for (int t = 0; t < s.length(); t++) {
            if (s.numeric()[t].length != f) {
                throw new IllegalArgumentException("key " + s.key() + " event " + t + " has " + s.numeric()[t].length
                        + " numeric values, the schema " + f);
            }
            for (int i = 0; i < f; i++) {
                if (!Float.isFinite((float) s.numeric()[t][i])) {
                    throw new IllegalArgumentException("key " + s.key() + " event " + t + ": field '"
                            + schema.numericFields().get(i) + "' is " + s.numeric()[t][i]);
                }
            }
        }
        if (schema.hasCategory()) {
            if (s.category() == null || s.category().length != s.length()) {
                throw new IllegalArgumentException("key " + s.key() + " needs one category per event");
            }
            for (int t = 0; t < s.length(); t++) {
                if (s.category()[t] < 0 || s.category()[t] >= schema.categoryCount()) {
                    throw new IllegalArgumentException("key " + s.key() + " event " + t + ": category index "
                            + s.category()[t] + " outside 0.." + (schema.categoryCount() - 1));
                }
            }
        }
    }

    private record Split(List<TrainingSequence> train, List<TrainingSequence> validation) {}

    /**
     * Keys shuffled by the seed; the first validationShare of them (at least one when asked, never all).
     *
     * @throws IllegalArgumentException when no training key has two or more {@code events} (nothing to predict)
     */
    private static Split split(List<TrainingSequence> sequences, TrainingOptions options, String events) {
        Map<String, List<TrainingSequence>> byKey = new LinkedHashMap<>();
        for (TrainingSequence s : sequences) {
            byKey.computeIfAbsent(s.key(), k -> new ArrayList<>()).add(s);
        }
        List<String> keys = new ArrayList<>(byKey.keySet());
        Collections.sort(keys);
        Collections.shuffle(keys, new java.util.Random(options.seed()));
        int held = options.validationShare() == 0 || keys.size() < 2 ? 0
                : Math.min(keys.size() - 1, Math.max(1, (int) Math.round(keys.size() * options.validationShare())));
        List<TrainingSequence> validation = new ArrayList<>();
        List<TrainingSequence> train = new ArrayList<>();
        for (int i = 0; i < keys.size(); i++) {
            (i < held ? validation : train).addAll(byKey.get(keys.get(i)));
        }
        if (train.stream().noneMatch(s -> s.length() >= 2)) {
            throw new IllegalArgumentException("no training key has two or more " + events + " (nothing to predict)");
        }
        return new Split(train, validation);
    }

    /**
     * Mean and standard deviation of every numeric field over the training events as floats (what the operator's
     * event fields hold), std 1 for a constant.
     */
    private static float[][] normalization(EventSchema schema, List<TrainingSequence> train) {
        int f = schema.numericCount();
        double[] sum = new double[f];
        double[] sumSq = new double[f];
        long n = 0;
        for (TrainingSequence s : train) {
            for (double[] event : s.numeric()) {
                for (int i = 0; i < f; i++) {
                    sum[i] += (float) event[i];
                }
                n++;
            }
        }
        float[] mean = new float[f];
        float[] std = new float[f];
        for (int i = 0; i < f; i++) {
            mean[i] = (float) (sum[i] / n);
        }
        for (TrainingSequence s : train) {
            for (double[] event : s.numeric()) {
                for (int i = 0; i < f; i++) {
                    double v = (float) event[i] - mean[i];
                    sumSq[i] += v * v;
                }
            }
        }
        for (int i = 0; i < f; i++) {
            double sd = Math.sqrt(sumSq[i] / n);
            std[i] = sd > 1e-6 * Math.max(1, Math.abs(mean[i])) ? (float) sd : 1f;
        }
        return new float[][] {mean, std};
    }

    private Encoded encode(TrainingSequence s) {
        int f = schema.numericCount();
        float[] z = new float[s.length() * f];
        for (int t = 0; t < s.length(); t++) {
            for (int i = 0; i < f; i++) {
                z[t * f + i] = ((float) s.numeric()[t][i] - mean[i]) / std[i];
            }
        }
        return new Encoded(s.key(), s.length(), z, schema.hasCategory() ? s.category() : null);
    }

    private TrainingResult run(float[] w, Split split, Path outDir, TrainingListener listener)
            throws IOException {
        List<Encoded> train = new ArrayList<>();
        for (TrainingSequence s : split.train) {
            if (s.length() >= 2) {
                train.add(encode(s));
            }
        }
        float[] m = new float[w.length];
        float[] v = new float[w.length];
        float[] best = w.clone();
        double bestScore = Double.POSITIVE_INFINITY;
        double bestTrain = Double.NaN;
        double bestValidation = Double.NaN;
        int sinceBest = 0;
        int batchSize = options.batchSize();
        float[][] grads = new float[batchSize][w.length];
        float[][] states = new float[batchSize][network.stateLayout().floatsPerKey()];
        double[] losses = new double[batchSize];
        List<double[]> curve = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(options.seed() ^ 0x9E3779B97F4A7C15L);
        ExecutorService pool = options.threads() > 1 ? Executors.newFixedThreadPool(options.threads(), r -> {
            Thread t = new Thread(r, "event-trainer");
            t.setDaemon(true);
            return t;
        }) : null;
        ThreadLocal<EventNetwork.Workspace> workspaces =
                ThreadLocal.withInitial(() -> network.workspace(options.bptt()));
        long step = 0;
        long trainedEvents = 0;
        long started = System.nanoTime();
        int epochsRun = 0;
        try {
            int batches = (train.size() + batchSize - 1) / batchSize;
            for (int epoch = 1; epoch <= options.epochs(); epoch++) {
                epochsRun = epoch;
                shuffle(train, random);
                double epochLoss = 0;
                long epochTargets = 0;
                for (int b = 0; b < batches; b++) {
                    List<Encoded> batch = train.subList(b * batchSize, Math.min(train.size(), (b + 1) * batchSize));
                    for (float[] s : states) {
                        java.util.Arrays.fill(s, 0f);
                    }
                    int longest = batch.stream().mapToInt(Encoded::length).max().orElse(0);
                    double batchLoss = 0;
                    long batchTargets = 0;
                    for (int start = 0; start < longest - 1; start += options.bptt()) {
                        int targets = 0;
                        for (Encoded s : batch) {
                            targets += start < s.length() ? EventNetwork.targets(s, start,
                                    Math.min(options.bptt(), s.length() - start)) : 0;
                        }
                        if (targets == 0) {
                            continue;
                        }
                        gradients(w, batch, start, grads, states, losses, pool, workspaces);
                        float[] g = grads[0];
                        double loss = losses[0];
                        for (int i = 1; i < batch.size(); i++) {
                            float[] gi = grads[i];
                            for (int j = 0; j < g.length; j++) {
                                g[j] += gi[j];
                            }
                            loss += losses[i];
                        }
                        float scale = 1f / targets;
                        for (int j = 0; j < g.length; j++) {
                            g[j] *= scale;
                        }
                        double progress = (epoch - 1 + (b + (double) start / longest) / batches) / options.epochs();
                        adamW(w, g, m, v, ++step, learningRate(step, progress));
                        batchLoss += loss;
                        batchTargets += targets;
                        trainedEvents += targets;
                    }
                    epochLoss += batchLoss;
                    epochTargets += batchTargets;
                    if (listener != null) {
                        listener.batch(epoch, b + 1, batches, batchLoss / Math.max(1, batchTargets));
                    }
                }
                double trainLoss = epochLoss / Math.max(1, epochTargets);
                double validationLoss = split.validation.isEmpty() ? Double.NaN : validationLoss(w, split.validation, pool);
                curve.add(new double[] {trainLoss, validationLoss});
                if (listener != null) {
                    listener.epoch(epoch, trainLoss, validationLoss);
                }
                double score = split.validation.isEmpty() ? trainLoss : validationLoss;
                if (score < bestScore) {
                    bestScore = score;
                    bestTrain = trainLoss;
                    bestValidation = validationLoss;
                    System.arraycopy(w, 0, best, 0, w.length);
                    sinceBest = 0;
                } else if (++sinceBest >= options.patience()) {
                    break;
                }
            }
        } finally {
            if (pool != null) {
                pool.shutdownNow();
            }
        }
        if (epochsRun == 0 && !split.validation.isEmpty()) {
            bestValidation = validationLoss(best, split.validation, null);
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        if (layout.tokens) {
            ModelWriter.write(layout.languageModel(best), outDir, DType.F32);
        } else {
            layout.model(best, mean, std, options.inputTransform()).write(outDir);
        }
        return new TrainingResult(outDir, epochsRun, bestTrain, bestValidation, List.copyOf(curve),
                trainedEvents / Math.max(1e-9, seconds));
    }

    private double validationLoss(float[] w, List<TrainingSequence> validation, ExecutorService pool) {
        if (layout.tokens) {
            MambaModel model = layout.languageModel(w);
            return meanScore(model, validation, pool, (engine, s) -> tokenLoss(model, engine, s));
        }
        EventModel model = layout.model(w, mean, std, options.inputTransform());
        return meanScore(model.backbone(), validation, pool, (engine, s) -> sequenceLoss(model, engine, s));
    }

    /** Fisher-Yates with the trainer's generator (deterministic for the seed). */
    private static void shuffle(List<Encoded> list, SplittableRandom random) {
        for (int i = list.size() - 1; i > 0; i--) {
            Collections.swap(list, i, random.nextInt(i + 1));
        }
    }

    /** Each sequence's stretch from {@code start}: its gradient into grads[i], loss into losses[i]. */
    private void gradients(float[] w, List<Encoded> batch, int start, float[][] grads, float[][] states,
                           double[] losses, ExecutorService pool, ThreadLocal<EventNetwork.Workspace> workspaces) {
        List<Runnable> tasks = new ArrayList<>(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            int index = i;
            Encoded s = batch.get(i);
            java.util.Arrays.fill(grads[i], 0f);
            losses[i] = 0;
            if (start >= s.length() - 1) {
                continue;
            }
            int length = Math.min(options.bptt(), s.length() - start);
            tasks.add(() -> losses[index] = network.run(w, s, start, length, states[index], grads[index], logStdSum,
                    workspaces.get()));
        }
        runAll(tasks, pool);
    }

    private static void runAll(List<Runnable> tasks, ExecutorService pool) {
        if (pool == null) {
            tasks.forEach(Runnable::run);
            return;
        }
        List<Future<?>> futures = new ArrayList<>();
        for (Runnable task : tasks) {
            futures.add(pool.submit(task));
        }
        for (Future<?> future : futures) {
            try {
                future.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("training interrupted", e);
            } catch (ExecutionException e) {
                throw new IllegalStateException("training failed: " + e.getCause(), e.getCause());
            }
        }
    }

    /** Linear warmup over the first steps, then cosine from the peak to 10% of it over the run. */
    private double learningRate(long step, double progress) {
        double warmup = Math.min(1.0, (double) step / WARMUP_STEPS);
        double cosine = FINAL_LR_FRACTION + (1 - FINAL_LR_FRACTION) * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress)));
        return options.learningRate() * warmup * cosine;
    }

    /** Clips the gradient's global norm, then one AdamW step with bias correction. */
    private void adamW(float[] w, float[] g, float[] m, float[] v, long step, double lr) {
        if (options.clipNorm() > 0) {
            double sq = 0;
            for (float x : g) {
                sq += (double) x * x;
            }
            double norm = Math.sqrt(sq);
            if (norm > options.clipNorm()) {
                float scale = (float) (options.clipNorm() / norm);
                for (int j = 0; j < g.length; j++) {
                    g[j] *= scale;
                }
            }
        }
        float b1 = (float) BETA1;
        float b2 = (float) BETA2;
        float c1 = (float) (1 / (1 - Math.pow(BETA1, step)));
        float c2 = (float) (1 / (1 - Math.pow(BETA2, step)));
        float rate = (float) lr;
        float eps = (float) ADAM_EPS;
        for (ParameterLayout.Segment segment : layout.segments) {
            float decay = segment.decay() ? (float) (lr * options.weightDecay()) : 0f;
            int end = segment.offset() + segment.size();
            for (int j = segment.offset(); j < end; j++) {
                float gj = g[j];
                m[j] = b1 * m[j] + (1 - b1) * gj;
                v[j] = b2 * v[j] + (1 - b2) * gj * gj;
                w[j] -= rate * (m[j] * c1) / ((float) Math.sqrt(v[j] * c2) + eps) + decay * w[j];
            }
        }
    }

    /**
     * Mean NLL per predicted event (nats) of {@code sequences} under {@code model}, as the operator scores:
     * each key through the CPU engine from a zero state, event t+1 scored by {@link EventModel#score} from
     * hidden t (a key's first event is not scored). The sequences hold raw values; the model's input transform
     * is applied to them first, in the values' units (what a job does before the operator).
     */
    public static double meanScore(EventModel model, List<TrainingSequence> sequences) {
        return meanScore(model.backbone(), modelInput(sequences, model.inputTransform()), null,
                (engine, s) -> sequenceLoss(model, engine, s));
    }

    /**
     * Mean NLL per predicted token (nats) of {@code sequences} under the token language model, as the operator
     * scores: each key's tokens through the CPU engine from a zero state, token t+1 scored by
     * {@link MambaEngine#negativeLogLikelihood} on the engine's logits from hidden t.
     */
    public static double meanScore(MambaModel languageModel, List<TrainingSequence> sequences) {
        if (!languageModel.config().hasLmHead()) {
            throw new IllegalArgumentException("not a token language model (vocab_size 0): " + languageModel.config());
        }
        return meanScore(languageModel, sequences, null, (engine, s) -> tokenLoss(languageModel, engine, s));
    }

    private interface SequenceLoss {
        double sum(CpuEngine engine, TrainingSequence sequence);
    }

    /** Summed losses over the sequences per predicted event, spread over the pool, sums added in order. */
    private static double meanScore(MambaModel backbone, List<TrainingSequence> sequences, ExecutorService pool,
                                    SequenceLoss sequenceLoss) {
        double[] loss = new double[sequences.size()];
        long[] targets = new long[sequences.size()];
        int parts = pool == null ? 1 : Math.min(sequences.size(), 4 * Runtime.getRuntime().availableProcessors());
        List<Runnable> tasks = new ArrayList<>();
        for (int part = 0; part < parts; part++) {
            int from = part * sequences.size() / parts;
            int to = (part + 1) * sequences.size() / parts;
            tasks.add(() -> {
                try (CpuEngine engine = new CpuEngine(backbone)) {
                    for (int i = from; i < to; i++) {
                        TrainingSequence s = sequences.get(i);
                        loss[i] = sequenceLoss.sum(engine, s);
                        targets[i] = Math.max(0, s.length() - 1);
                    }
                }
            });
        }
        runAll(tasks, pool);
        double sum = 0;
        long n = 0;
        for (int i = 0; i < loss.length; i++) {
            sum += loss[i];
            n += targets[i];
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    private static double sequenceLoss(EventModel model, CpuEngine engine, TrainingSequence s) {
        int d = model.backbone().config().dModel();
        int length = s.length();
        if (length < 2) {
            return 0;
        }
        EventFields fields = new EventFields(model.schema());
        float[] features = new float[length * d];
        float[] one = new float[d];
        for (int t = 0; t < length; t++) {
            set(fields, s, t);
            model.encode(fields, one);
            System.arraycopy(one, 0, features, t * d, d);
        }
        float[] state = new float[model.backbone().config().stateLayout().floatsPerKey()];
        float[] hidden = new float[length * d];
        engine.forward(length, null, features, state, hidden, null);
        double sum = 0;
        for (int t = 1; t < length; t++) {
            set(fields, s, t);
            System.arraycopy(hidden, (t - 1) * d, one, 0, d);
            sum += model.score(one, fields);
        }
        return sum;
    }

    private static double tokenLoss(MambaModel model, CpuEngine engine, TrainingSequence s) {
        int length = s.length();
        if (length < 2) {
            return 0;
        }
        MambaConfig c = model.config();
        int v = c.vocabSize();
        float[] state = new float[c.stateLayout().floatsPerKey()];
        float[] hidden = new float[length * c.dModel()];
        engine.forward(length, s.category(), null, state, hidden, null);
        float[] logits = new float[(length - 1) * v];
        engine.logits(hidden, length - 1, logits);
        double sum = 0;
        for (int t = 1; t < length; t++) {
            sum += MambaEngine.negativeLogLikelihood(logits, t - 1, v, s.category()[t]);
        }
        return sum;
    }

    private static void set(EventFields fields, TrainingSequence s, int t) {
        fields.clear();
        double[] values = s.numeric()[t];
        for (int i = 0; i < values.length; i++) {
            fields.numeric(i, (float) values[i]);
        }
        if (s.category() != null) {
            fields.category(s.category()[t]);
        }
    }
}
