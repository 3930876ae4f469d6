package io.flinkmamba.operator;

import io.flinkmamba.engine.cuda.MatmulPrecision;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

import java.time.Duration;

/** The operator's settings as Flink {@link ConfigOption}s (read by {@link MambaOperatorBuilder#configure}). */
@PublicEvolving
public final class MambaOptions {
    private MambaOptions() {}

    public static final ConfigOption<String> MODEL_DIR = ConfigOptions.key("mamba.model-dir")
            .stringType().noDefaultValue()
            .withDescription("Folder with config.json and model.safetensors, readable on every TaskManager.");

    public static final ConfigOption<Integer> BUNDLE_SIZE = ConfigOptions.key("mamba.bundle.size")
            .intType().defaultValue(1024)
            .withDescription("Events buffered across keys before one engine call steps them.");

    public static final ConfigOption<Long> BUNDLE_BYTES = ConfigOptions.key("mamba.bundle.bytes")
            .longType().defaultValue(8L << 20)
            .withDescription("Model input bytes buffered before the bundle is stepped.");

    public static final ConfigOption<Duration> BUNDLE_MAX_DELAY = ConfigOptions.key("mamba.bundle.max-delay")
            .durationType().defaultValue(Duration.ofMillis(100))
            .withDescription("Longest an event waits in a bundle (processing time).");

    public static final ConfigOption<String> STATE_CODEC = ConfigOptions.key("mamba.state.codec")
            .stringType().defaultValue("float32")
            .withDescription("How states are stored: float32, float16, bfloat16 or int8.");

    public static final ConfigOption<Integer> CACHE_SIZE = ConfigOptions.key("mamba.state.cache-size")
            .intType().defaultValue(10_000)
            .withDescription("Keys kept decoded between bundles: on the heap, or resident in device memory with the "
                    + "cuda engine; 0 disables the cache.");

    public static final ConfigOption<String> ENGINE = ConfigOptions.key("mamba.engine")
            .stringType().defaultValue("cpu")
            .withDescription("The engine that steps the model: cpu, cuda, or auto (cuda where a device and the "
                    + "jar's kernels are present, else cpu).");

    public static final ConfigOption<Integer> CUDA_DEVICE = ConfigOptions.key("mamba.cuda.device")
            .intType().defaultValue(-1)
            .withDescription("CUDA device index when Flink's external resource 'gpu' assigns none; -1 means 0.");

    public static final ConfigOption<Long> CUDA_MEMORY_BUDGET = ConfigOptions.key("mamba.cuda.memory-budget")
            .longType().defaultValue(0L)
            .withDescription("Device memory in bytes one subtask may use (weights, scratch); 0: no limit. A budget "
                    + "too small for the model and bundle fails at startup.");

    public static final ConfigOption<MatmulPrecision> CUDA_MATMUL_PRECISION = ConfigOptions
            .key("mamba.cuda.matmul-precision")
            .enumType(MatmulPrecision.class).defaultValue(MatmulPrecision.HIGHEST)
            .withDescription("The cuda engine's matrix products: HIGHEST keeps float32 accuracy (split TF32 on tensor "
                    + "cores), HIGH takes plain TF32 tensor cores (about 1e-4 relative error, about three times the "
                    + "products' throughput), as PyTorch's float32 matmul precision.");

    public static final ConfigOption<Duration> SESSION_GAP = ConfigOptions.key("mamba.session.gap")
            .durationType().defaultValue(Duration.ZERO)
            .withDescription("A key idle longer than this starts a fresh state; 0 disables sessions.");

    public static final ConfigOption<Boolean> SESSION_EVENT_TIME = ConfigOptions.key("mamba.session.event-time")
            .booleanType().defaultValue(true)
            .withDescription("Measure the session gap in event time (else processing time).");

    public static final ConfigOption<Duration> STATE_TTL = ConfigOptions.key("mamba.state.ttl")
            .durationType().defaultValue(Duration.ZERO)
            .withDescription("Drop a key's state after this much processing time without events; 0 keeps it.");

    public static final ConfigOption<ModelMismatchPolicy> ON_MODEL_MISMATCH = ConfigOptions
            .key("mamba.state.on-model-mismatch")
            .enumType(ModelMismatchPolicy.class).defaultValue(ModelMismatchPolicy.RESET)
            .withDescription("A stored state written by another model: RESET the key or FAIL the job.");

    public static final ConfigOption<Boolean> EVENT_TIME_ORDERING = ConfigOptions.key("mamba.event-time-ordering")
            .booleanType().defaultValue(false)
            .withDescription("Step each key's events in timestamp order once the watermark passes them; events "
                    + "behind the watermark go to the late side output.");
}
