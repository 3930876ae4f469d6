package io.flinkmamba.testing;

import org.junit.jupiter.api.condition.EnabledIf;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Runs a test class only where the CUDA engine can run (a device, the driver and kernels in the jar); elsewhere
 * the class is reported as skipped, with the reason, and its set-up does not run.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@EnabledIf(value = "io.flinkmamba.engine.cuda.CudaEngine#available",
        disabledReason = "no CUDA device, driver or kernels here")
public @interface RequiresCudaDevice {}
