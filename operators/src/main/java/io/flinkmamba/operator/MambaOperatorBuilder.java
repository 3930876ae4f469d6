package io.flinkmamba.operator;

import io.flinkmamba.engine.cuda.MatmulPrecision;
import io.flinkmamba.event.AnomalyLikelihood;
import io.flinkmamba.state.StateCodec;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.util.OutputTag;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Builds the Mamba operator and applies it to a keyed stream:
 * <pre>{@code
 * MambaStream<Event, Score> scored = MambaOperatorBuilder.<Event, Score>forModel(Path.of("model"))
 *         .inputEncoder((event, input) -> input.token(event.type()))
 *         .outputMapper((event, out) -> new Score(event, out.score()), TypeInformation.of(Score.class))
 *         .bundleSize(512)
 *         .applyTo(events.keyBy(Event::user));
 * scored.results();   // one result per accepted event
 * scored.rejected();  // (event, reason) for events the encoder could not turn into model input
 * scored.late();      // events behind the watermark, with event-time ordering
 * }</pre>
 * For an event model (a folder with {@code flink-mamba.json}), {@code .eventExtractor((event, fields) -> ...)}
 * takes the input encoder's place.
 * Settings not given come from {@link #configure(ReadableConfig)}'s {@link MambaOptions}, else their
 * defaults.
 */
@PublicEvolving
public final class MambaOperatorBuilder<IN, OUT> {
    private String modelDir;
    private InputEncoder<IN> encoder;
    private EventExtractor<IN> extractor;
    private AnomalyLikelihood likelihood = AnomalyLikelihood.withDefaults();
    private OutputMapper<IN, OUT> mapper;
    private TypeInformation<OUT> outputType;
    private int bundleSize = MambaOptions.BUNDLE_SIZE.defaultValue();
    private long bundleBytes = MambaOptions.BUNDLE_BYTES.defaultValue();
    private Duration maxBundleDelay = MambaOptions.BUNDLE_MAX_DELAY.defaultValue();
    private StateCodec stateCodec = StateCodec.parse(MambaOptions.STATE_CODEC.defaultValue());
    private int cacheSize = MambaOptions.CACHE_SIZE.defaultValue();
    private String engine = MambaOptions.ENGINE.defaultValue();
    private int cudaDevice = MambaOptions.CUDA_DEVICE.defaultValue();
    private long cudaMemoryBudget = MambaOptions.CUDA_MEMORY_BUDGET.defaultValue();
    private MatmulPrecision cudaMatmulPrecision = MambaOptions.CUDA_MATMUL_PRECISION.defaultValue();
    private Duration sessionGap = MambaOptions.SESSION_GAP.defaultValue();
    private boolean sessionGapEventTime = MambaOptions.SESSION_EVENT_TIME.defaultValue();
    private Duration stateTtl = MambaOptions.STATE_TTL.defaultValue();
    private ModelMismatchPolicy onModelMismatch = MambaOptions.ON_MODEL_MISMATCH.defaultValue();
    private boolean eventTimeOrdering = MambaOptions.EVENT_TIME_ORDERING.defaultValue();

    private MambaOperatorBuilder(String modelDir) {
        this.modelDir = modelDir;
    }

    /** A builder for the model in {@code modelDir} (config.json and model.safetensors). */
    public static <IN, OUT> MambaOperatorBuilder<IN, OUT> forModel(Path modelDir) {
        return new MambaOperatorBuilder<>(modelDir.toString());
    }

    /** Takes every {@link MambaOptions} setting present in {@code config}. */
    public MambaOperatorBuilder<IN, OUT> configure(ReadableConfig config) {
        config.getOptional(MambaOptions.MODEL_DIR).ifPresent(v -> modelDir = v);
        config.getOptional(MambaOptions.BUNDLE_SIZE).ifPresent(v -> bundleSize = v);
        config.getOptional(MambaOptions.BUNDLE_BYTES).ifPresent(v -> bundleBytes = v);
        config.getOptional(MambaOptions.BUNDLE_MAX_DELAY).ifPresent(v -> maxBundleDelay = v);
        config.getOptional(MambaOptions.STATE_CODEC).ifPresent(v -> stateCodec = StateCodec.parse(v));
        config.getOptional(MambaOptions.CACHE_SIZE).ifPresent(v -> cacheSize = v);
        config.getOptional(MambaOptions.ENGINE).ifPresent(v -> engine = v);
        config.getOptional(MambaOptions.CUDA_DEVICE).ifPresent(v -> cudaDevice = v);
        config.getOptional(MambaOptions.CUDA_MEMORY_BUDGET).ifPresent(v -> cudaMemoryBudget = v);
        config.getOptional(MambaOptions.CUDA_MATMUL_PRECISION).ifPresent(v -> cudaMatmulPrecision = v);
        config.getOptional(MambaOptions.SESSION_GAP).ifPresent(v -> sessionGap = v);
        config.getOptional(MambaOptions.SESSION_EVENT_TIME).ifPresent(v -> sessionGapEventTime = v);
        config.getOptional(MambaOptions.STATE_TTL).ifPresent(v -> stateTtl = v);
        config.getOptional(MambaOptions.ON_MODEL_MISMATCH).ifPresent(v -> onModelMismatch = v);
        config.getOptional(MambaOptions.EVENT_TIME_ORDERING).ifPresent(v -> eventTimeOrdering = v);
        return this;
    }

    /** How events become model input, for a plain (token or feature) model. */
    public MambaOperatorBuilder<IN, OUT> inputEncoder(InputEncoder<IN> encoder) {
        this.encoder = encoder;
        return this;
    }

    /**
     * How events become an event model's fields, for a model folder with {@code flink-mamba.json}
     * ({@link io.flinkmamba.event.EventModel}); replaces the input encoder.
     */
    public MambaOperatorBuilder<IN, OUT> eventExtractor(EventExtractor<IN> extractor) {
        this.extractor = extractor;
        return this;
    }

    /**
     * The windows, probation and input (score, improbability or both) of event models' per-key anomaly likelihood
     * (default {@link AnomalyLikelihood#withDefaults()}); a key whose stored likelihood state has another
     * size starts it afresh. The stored state does not record the input: a job restored with another input
     * keeps the fitted means of the former one until the long window has replaced them.
     */
    public MambaOperatorBuilder<IN, OUT> anomalyLikelihood(AnomalyLikelihood likelihood) {
        this.likelihood = Objects.requireNonNull(likelihood, "likelihood");
        return this;
    }

    public MambaOperatorBuilder<IN, OUT> outputMapper(OutputMapper<IN, OUT> mapper, TypeInformation<OUT> type) {
        this.mapper = mapper;
        this.outputType = type;
        return this;
    }

    public MambaOperatorBuilder<IN, OUT> bundleSize(int events) {
        this.bundleSize = events;
        return this;
    }

    public MambaOperatorBuilder<IN, OUT> bundleBytes(long bytes) {
        this.bundleBytes = bytes;
        return this;
    }

    public MambaOperatorBuilder<IN, OUT> maxBundleDelay(Duration delay) {
        this.maxBundleDelay = delay;
        return this;
    }

    public MambaOperatorBuilder<IN, OUT> stateCodec(StateCodec codec) {
        this.stateCodec = codec;
        return this;
    }

    public MambaOperatorBuilder<IN, OUT> cacheSize(int keys) {
        this.cacheSize = keys;
        return this;
    }

    /** cpu, cuda, or auto (cuda where a device and the jar's kernels are present, else cpu). */
    public MambaOperatorBuilder<IN, OUT> engine(String name) {
        this.engine = name;
        return this;
    }

    /**
     * The CUDA device when Flink's external resource "gpu" assigns none (-1: device 0), and the device memory
     * one subtask may use (0: no limit).
     */
    public MambaOperatorBuilder<IN, OUT> cuda(int device, long memoryBudgetBytes) {
        this.cudaDevice = device;
        this.cudaMemoryBudget = memoryBudgetBytes;
        return this;
    }

    /** How the cuda engine's matrix products use tensor cores (default HIGHEST: float32 accuracy). */
    public MambaOperatorBuilder<IN, OUT> cudaMatmulPrecision(MatmulPrecision precision) {
        this.cudaMatmulPrecision = precision;
        return this;
    }

    /** Keys idle longer than {@code gap} (event time, else processing time) start a fresh state. */
    public MambaOperatorBuilder<IN, OUT> sessionGap(Duration gap, boolean eventTime) {
        this.sessionGap = gap;
        this.sessionGapEventTime = eventTime;
        return this;
    }

    /** Drops a key's state after {@code ttl} of processing time without events (cleaned up in RocksDB). */
    public MambaOperatorBuilder<IN, OUT> stateTtl(Duration ttl) {
        this.stateTtl = ttl;
        return this;
    }

    public MambaOperatorBuilder<IN, OUT> onModelMismatch(ModelMismatchPolicy policy) {
        this.onModelMismatch = policy;
        return this;
    }

    /**
     * Holds each key's events until the watermark passes them and steps them in timestamp order; events at
     * or behind the watermark on arrival go to {@link MambaStream#late()}.
     */
    public MambaOperatorBuilder<IN, OUT> eventTimeOrdering(boolean enabled) {
        this.eventTimeOrdering = enabled;
        return this;
    }

    /** The validated settings; also checked by {@link #applyTo}. */
    public MambaOperatorSettings settings() {
        return new MambaOperatorSettings(modelDir, bundleSize, bundleBytes, maxBundleDelay, stateCodec, cacheSize,
                engine, cudaDevice, cudaMemoryBudget, cudaMatmulPrecision, sessionGap, sessionGapEventTime, stateTtl,
                onModelMismatch, eventTimeOrdering);
    }

    /** The operator, for tests and for callers that wire it themselves. */
    public <K> MambaOperator<K, IN, OUT> build(TypeInformation<IN> inputType) {
        if ((encoder == null) == (extractor == null)) {
            throw new IllegalArgumentException(encoder == null
                    ? "an input encoder (plain models) or an event extractor (event models) is required"
                    : "give either an input encoder or an event extractor, not both");
        }
        Objects.requireNonNull(mapper, "an output mapper is required");
        return new MambaOperator<>(settings(), encoder, extractor, likelihood, mapper, inputType);
    }

    /** Applies the operator to a keyed stream. */
    public <K> MambaStream<IN, OUT> applyTo(KeyedStream<IN, K> input) {
        Objects.requireNonNull(outputType, "an output mapper with its output type is required");
        MambaOperator<K, IN, OUT> operator = build(input.getType());
        SingleOutputStreamOperator<OUT> results = input.transform("Mamba", outputType, operator);
        return new MambaStream<>(results, results.getSideOutput(rejectedTag(input.getType())),
                results.getSideOutput(lateTag(input.getType())));
    }

    /** The side output of events that arrived behind the watermark (with event-time ordering). */
    public static <IN> OutputTag<IN> lateTag(TypeInformation<IN> inputType) {
        return new OutputTag<>("mamba-late", inputType);
    }

    /** The side output of rejected events: (event, reason). */
    public static <IN> OutputTag<Tuple2<IN, String>> rejectedTag(TypeInformation<IN> inputType) {
        return new OutputTag<>("mamba-rejected", Types.TUPLE(inputType, Types.STRING));
    }
}
