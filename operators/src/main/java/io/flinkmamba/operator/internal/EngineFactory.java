package io.flinkmamba.operator.internal;

import io.flinkmamba.engine.CpuEngine;
import io.flinkmamba.engine.MambaEngine;
import io.flinkmamba.engine.cuda.CudaEngine;
import io.flinkmamba.model.MambaModel;
import io.flinkmamba.operator.MambaOperatorSettings;
import io.flinkmamba.state.StateCodec;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.externalresource.ExternalResourceInfo;
import org.apache.flink.api.common.functions.RuntimeContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Optional;

/**
 * Chooses and builds a subtask's engine from {@code mamba.engine}: cpu, cuda, or auto (cuda where a device
 * and the jar's kernels are present). A CUDA engine is sized for the key cache (its resident slots), placed
 * on the device Flink assigned, and checked against the memory budget before it allocates.
 */
@Internal
public final class EngineFactory {
    private static final Logger LOG = LoggerFactory.getLogger(EngineFactory.class);

    private EngineFactory() {}

    /** The configured engine for {@code model}; {@code context} names the assigned GPU, if any. */
    public static MambaEngine create(MambaOperatorSettings settings, MambaModel model, RuntimeContext context) {
        boolean cuda = settings.engine().equals("cuda")
                || (settings.engine().equals("auto") && CudaEngine.available());
        if (settings.engine().equals("auto")) {
            LOG.info("mamba.engine=auto: using the {} engine", cuda ? "cuda" : "cpu");
        }
        if (!cuda) {
            return new CpuEngine(model);
        }
        if (!CudaEngine.available()) {
            throw new IllegalStateException("mamba.engine=cuda, but this TaskManager has no CUDA device or driver, "
                    + "or the jar carries no kernels; use cpu or auto");
        }
        int device = cudaDevice(settings, context);
        // The cache lives in the device's slot pool: the cached keys plus room for a bundle's new keys, which
        // join before the least recently used are evicted at the end of the bundle.
        int slots = settings.cacheSize() == 0 ? 0 : settings.cacheSize() + settings.bundleSize();
        long needed = CudaEngine.deviceBytes(model.config(), settings.bundleSize(), slots, StateCodec.FLOAT32);
        if (settings.cudaMemoryBudget() > 0 && needed > settings.cudaMemoryBudget()) {
            throw new IllegalArgumentException("mamba.cuda.memory-budget " + settings.cudaMemoryBudget()
                    + " bytes is too small: the model, a bundle of " + settings.bundleSize() + " events and "
                    + slots + " resident states need " + needed + " bytes on the device");
        }
        return new CudaEngine(model, device, StateCodec.FLOAT32, slots, settings.cudaMatmulPrecision());
    }

    /** The device Flink's external resource framework assigned ("gpu", property "index"), else the setting. */
    private static int cudaDevice(MambaOperatorSettings settings, RuntimeContext context) {
        for (ExternalResourceInfo gpu : context.getExternalResourceInfos("gpu")) {
            Optional<String> index = gpu.getProperty("index");
            if (index.isPresent()) {
                return Integer.parseInt(index.get().trim());
            }
        }
        return Math.max(0, settings.cudaDevice());
    }
}
