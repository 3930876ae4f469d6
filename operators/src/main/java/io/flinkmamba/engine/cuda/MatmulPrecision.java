package io.flinkmamba.engine.cuda;

import java.util.Locale;

/**
 * How the CUDA engine's matrix products (in_proj, x_proj, dt_proj, out_proj, LM head) use tensor cores, named
 * as PyTorch's {@code torch.set_float32_matmul_precision}. Either way inputs, outputs and sums are float32,
 * and a key's results do not depend on how its batch was cut.
 */
public enum MatmulPrecision {
    /**
     * float32 accuracy: split TF32 on tensor cores (three MMAs per product, an error of about 1e-6 of the
     * products' magnitudes), or float32 FMAs where the model's sizes are not multiples of 4.
     */
    HIGHEST,
    /**
     * TF32 tensor cores, one MMA per product (what PyTorch's allow_tf32 does): 10-bit mantissas in, float32
     * sums, an error of about 1e-4 of the products' magnitudes (up to 1e-3), for about three times the
     * throughput of the products. Models whose sizes are not multiples of 4 run float32 FMAs.
     */
    HIGH;

    /** The lower-case name, as configured. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** {@code highest} or {@code high}, any case. */
    public static MatmulPrecision parse(String name) {
        for (MatmulPrecision p : values()) {
            if (p.configName().equalsIgnoreCase(name.trim())) {
                return p;
            }
        }
        throw new IllegalArgumentException("matmul precision '" + name + "' is not one of highest, high");
    }
}
