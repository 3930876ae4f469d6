package io.flinkmamba.operator;

import io.flinkmamba.engine.cuda.MatmulPrecision;
import io.flinkmamba.state.StateCodec;
import org.apache.flink.annotation.Internal;

import java.io.Serializable;
import java.time.Duration;

/**
 * Everything the operator is configured with; built by {@link MambaOperatorBuilder}.
 *
 * @param modelDir          folder with config.json and model.safetensors, readable on every TaskManager
 * @param bundleSize        events buffered before the bundle is stepped
 * @param bundleBytes       model input bytes buffered before the bundle is stepped
 * @param maxBundleDelay    longest an event waits in a bundle (processing time)
 * @param stateCodec        how states are stored in keyed state
 * @param cacheSize         keys kept decoded on the heap between bundles (0: none)
 * @param engine            the engine: cpu, cuda, or auto (cuda where a device and kernels are present)
 * @param cudaDevice        the CUDA device when Flink's external resource "gpu" names none; -1: device 0
 * @param cudaMemoryBudget  device memory one subtask may use, in bytes; 0: no limit
 * @param cudaMatmulPrecision how the cuda engine's matrix products use tensor cores
 * @param sessionGap        a key idle longer starts a fresh state; zero: no sessions
 * @param sessionGapEventTime the gap is measured in event time (else processing time)
 * @param stateTtl          a key's state expires after this much processing time without events; zero: never
 * @param onModelMismatch   what to do with a state written by another model
 * @param eventTimeOrdering hold each key's events until the watermark passes them, then step them in
 *                          timestamp order; events behind the watermark go to the late side output
 */
@Internal
public record MambaOperatorSettings(
        String modelDir,
        int bundleSize,
        long bundleBytes,
        Duration maxBundleDelay,
        StateCodec stateCodec,
        int cacheSize,
        String engine,
        int cudaDevice,
        long cudaMemoryBudget,
        MatmulPrecision cudaMatmulPrecision,
        Duration sessionGap,
        boolean sessionGapEventTime,
        Duration stateTtl,
        ModelMismatchPolicy onModelMismatch,
        boolean eventTimeOrdering) implements Serializable {

    public MambaOperatorSettings {
        require(modelDir != null && !modelDir.isBlank(), "a model folder is required");
        require(bundleSize >= 1, "bundle size must be at least 1, got " + bundleSize);
        require(bundleBytes >= 1, "bundle bytes must be at least 1, got " + bundleBytes);
        require(!maxBundleDelay.isNegative() && !maxBundleDelay.isZero(), "max bundle delay must be positive");
        require(cacheSize >= 0, "cache size must not be negative, got " + cacheSize);
        require(engine.equals("cpu") || engine.equals("cuda") || engine.equals("auto"),
                "engine '" + engine + "' is not one of cpu, cuda, auto");
        require(cudaMemoryBudget >= 0, "the CUDA memory budget must not be negative");
        require(cudaMatmulPrecision != null, "a CUDA matmul precision is required");
        require(!sessionGap.isNegative(), "session gap must not be negative");
        require(!stateTtl.isNegative(), "state TTL must not be negative");
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException("invalid Mamba operator setting: " + message);
        }
    }
}
