package io.flinkmamba.cli;

import io.flinkmamba.engine.CpuEngine;
import io.flinkmamba.engine.MambaEngine;
import io.flinkmamba.engine.StepBatch;
import io.flinkmamba.engine.cuda.CudaEngine;
import io.flinkmamba.engine.cuda.MatmulPrecision;
import io.flinkmamba.model.MambaConfig;
import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.model.RandomModels;
import io.flinkmamba.state.StateCodec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * Throughput of one engine call stepping many keys, for Mamba-1 models fed float vectors (the metric-model
 * workload). cpu: events/s and achieved GFLOP/s for a small and a medium model at several batch sizes, on
 * one thread. cuda: events/s and achieved state bandwidth with the states resident on the device, for a
 * 4-layer d_model-128 model at large batches and a 24-layer d_model-768 one, with float32 and float16
 * states.
 */
@Command(name = "engine",
        mixinStandardHelpOptions = true,
        description = {"cpu: events/s and GFLOP/s for a small (d_model 64, 2 layers) and a medium (d_model 256,"
                + " 4 layers) Mamba-1 model at several batch sizes, on one thread.",
                "cuda: events/s and state GB/s with states resident on the device, for 4x128 at batch 1024, 16384"
                        + " and 65535 and 24x768 at batch 2048, float32 and float16 states, highest and high"
                        + " matmul precision."})
final class EngineBenchCommand implements Callable<Integer> {

    @Option(names = "--engine", defaultValue = "cpu", description = "Engine: cpu (default) or cuda.")
    String engine;

    @Option(names = "--device", defaultValue = "0", description = "CUDA device index (default 0).")
    int device;

    @Option(names = "--matmul-precision", split = ",", defaultValue = "highest,high",
            description = "cuda: the matrix products' precisions to measure, highest (float32 accuracy, split TF32)"
                    + " and/or high (TF32) (default highest,high).")
    List<String> matmulPrecisions;

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
        if (engine.equals("cuda")) {
            return cuda();
        }
        if (!engine.equals("cpu")) {
            System.err.println("bench engine: unknown engine '" + engine + "' (available: cpu, cuda)");
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

    private record GpuCell(String name, int dModel, int nLayer, int batch) {}

    private int cuda() {
        if (!CudaEngine.available()) {
            System.err.println("bench engine: no CUDA device, driver or kernels here");
            return 2;
        }
        List<GpuCell> cells = List.of(new GpuCell("4x128", 128, 4, 1024), new GpuCell("4x128", 128, 4, 16384),
                new GpuCell("4x128", 128, 4, 65535), new GpuCell("24x768", 768, 24, 2048));
        List<MatmulPrecision> precisions;
        try {
            precisions = matmulPrecisions.stream().map(MatmulPrecision::parse).toList();
        } catch (IllegalArgumentException e) {
            System.err.println("bench engine: " + e.getMessage());
            return 2;
        }
        System.out.printf(Locale.ROOT, "engine cuda (device %d), states resident, %.1f s per cell%n", device, seconds);
        for (GpuCell cell : cells) {
            MambaConfig config = RandomModels.config(LayerType.MAMBA1, cell.dModel(), cell.nLayer(), 0, 16);
            for (MatmulPrecision precision : precisions) {
                for (StateCodec storage : new StateCodec[] {StateCodec.FLOAT32, StateCodec.FLOAT16}) {
                    try (CudaEngine eng = new CudaEngine(RandomModels.create(config, 42, 0f), device, storage,
                            cell.batch(), precision)) {
                        measureResident(cell, config, eng, storage, precision);
                    }
                }
            }
        }
        return 0;
    }

    private void measureResident(GpuCell cell, MambaConfig config, CudaEngine eng, StateCodec storage,
                                 MatmulPrecision precision) {
        StepBatch batch = eng.newBatch(cell.batch(), StepBatch.Input.FEATURES, false);
        batch.size(cell.batch());
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < batch.features().length; i++) {
            batch.features()[i] = (float) (random.nextDouble() * 2 - 1);
        }
        int[] slots = new int[cell.batch()];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = i;
        }
        for (int i = 0; i < 3; i++) {
            eng.stepResident(batch, slots);
        }
        long start = System.nanoTime();
        long deadline = start + (long) (seconds * 1e9);
        long steps = 0;
        do {
            eng.stepResident(batch, slots);
            steps++;
        } while (System.nanoTime() < deadline);
        double elapsed = (System.nanoTime() - start) / 1e9;
        double eventsPerSecond = steps * cell.batch() / elapsed;
        // Every state element is read and written once per step.
        double stateBytes = 2.0 * config.stateLayout().floatsPerKey() * (storage == StateCodec.FLOAT32 ? 4 : 2);
        System.out.printf(Locale.ROOT, "%-6s batch=%-6d matmul=%-7s states=%-8s events/s=%12.0f  state GB/s=%8.1f%n",
                cell.name(), cell.batch(), precision.configName(), storage.configName(), eventsPerSecond,
                eventsPerSecond * stateBytes / 1e9);
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
