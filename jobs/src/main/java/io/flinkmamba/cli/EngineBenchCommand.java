package io.flinkmamba.cli;

import io.flinkmamba.engine.CpuEngine;
import io.flinkmamba.engine.MambaEngine;
import io.flinkmamba.engine.StepBatch;
import io.flinkmamba.model.MambaConfig;
import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.model.RandomModels;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * Throughput of one engine call stepping many keys: events/s and achieved GFLOP/s for a small and a
 * medium Mamba-1 model fed float vectors (the metric-model workload), at several batch sizes.
 */
@Command(name = "engine",
        mixinStandardHelpOptions = true,
        description = "Events/s and GFLOP/s of the engine for a small (d_model 64, 2 layers) and a medium"
                + " (d_model 256, 4 layers) Mamba-1 model at several batch sizes, on one thread.")
final class EngineBenchCommand implements Callable<Integer> {

    @Option(names = "--engine", defaultValue = "cpu", description = "Engine: cpu (default).")
    String engine;

    @Option(names = "--batches", split = ",", defaultValue = "1,64,1024", description = "Batch sizes (default 1,64,1024).")
    List<Integer> batches;

    @Option(names = "--seconds", defaultValue = "3", description = "Measured time per cell (default 3).")
    double seconds;

    @Option(names = "--peak-gflops", defaultValue = "83.2",
            description = "Assumed float32 FMA peak of one core, to report the share achieved (default 83.2:"
                    + " 2.6 GHz x 2 FMA pipes x 8 lanes x 2 flops, an AVX2/AVX-512 core such as AMD Zen 4).")
    double peakGflops;

    private record Cell(String name, int dModel, int nLayer) {}

    private static final List<Cell> MODELS = List.of(new Cell("small", 64, 2), new Cell("medium", 256, 4));

    @Override
    public Integer call() {
        if (!engine.equals("cpu")) {
            System.err.println("bench engine: unknown engine '" + engine + "' (available: cpu)");
            return 2;
        }
        System.out.printf(Locale.ROOT, "engine %s (%s kernels), %.1f s per cell, assumed peak %.1f GFLOP/s (one core)%n",
                engine, CpuEngine.simdKernels() ? "Vector API SIMD" : "scalar", seconds, peakGflops);
        for (Cell cell : MODELS) {
            MambaConfig config = RandomModels.config(LayerType.MAMBA1, cell.dModel(), cell.nLayer(), 0, 16);
            try (MambaEngine eng = new CpuEngine(RandomModels.create(config, 42, 0f))) {
                for (int batch : batches) {
                    measure(cell, config, eng, batch);
                }
            }
        }
        return 0;
    }

    private void measure(Cell cell, MambaConfig config, MambaEngine eng, int batchSize) {
        StepBatch batch = eng.newBatch(batchSize, StepBatch.Input.FEATURES, false);
        batch.size(batchSize);
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < batch.features().length; i++) {
            batch.features()[i] = (float) (random.nextDouble() * 2 - 1);
        }
        runFor(eng, batch, Math.min(1.0, seconds / 2)); // warm-up: JIT compilation
        long start = System.nanoTime();
        long steps = runFor(eng, batch, seconds);
        double elapsed = (System.nanoTime() - start) / 1e9;
        double eventsPerSecond = steps * batchSize / elapsed;
        double gflops = eventsPerSecond * config.flopsPerStep() / 1e9;
        System.out.printf(Locale.ROOT,
                "%-6s d_model=%-4d n_layer=%d batch=%-5d events/s=%12.0f  GFLOP/s=%7.2f  (%.1f%% of peak)%n",
                cell.name(), cell.dModel(), cell.nLayer(), batchSize, eventsPerSecond, gflops,
                100 * gflops / peakGflops);
    }

    private static long runFor(MambaEngine eng, StepBatch batch, double seconds) {
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        long steps = 0;
        do {
            eng.step(batch);
            steps++;
        } while (System.nanoTime() < deadline);
        return steps;
    }
}
