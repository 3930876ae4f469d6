package io.flinkmamba.cli;

import io.flinkmamba.engine.CpuEngine;
import io.flinkmamba.engine.ReferenceCheck;
import io.flinkmamba.model.MambaConfig;
import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.model.ModelFormatException;
import io.flinkmamba.model.RandomModels;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** Checks the engine against outputs of the official Mamba implementation. */
@Command(name = "check-reference",
        mixinStandardHelpOptions = true,
        description = {
                "Runs every input_ids sequence of DIR/expected.safetensors through the CPU engine step by step from a"
                        + " zero state and compares logits_step, logits_full, hidden_full and the final"
                        + " layers.N.conv_state / layers.N.ssm_state by relative L2 error.",
                "With --self-check instead of DIR: generates tiny random Mamba-1 and Mamba-2 models with expected"
                        + " outputs from the layer-by-layer full-sequence forward, and checks each (nothing but the jar).",
                "Exit 0 when max_rel_err is within 1e-5 (Mamba-1) or 1e-4 (Mamba-2), 1 when not, 2 when DIR is missing"
                        + " or malformed."})
final class CheckReferenceCommand implements Callable<Integer> {

    @Parameters(paramLabel = "DIR", arity = "0..1", description = "Folder with config.json, model.safetensors (or a"
            + " shard index) and expected.safetensors.")
    Path dir;

    @Option(names = "--self-check", description = "Check generated random models instead of DIR.")
    boolean selfCheck;

    @Option(names = "--seed", defaultValue = "1", description = "Random seed of --self-check (default 1).")
    long seed;

    @Override
    public Integer call() throws IOException {
        if (selfCheck == (dir != null)) {
            System.err.println("check-reference: give either DIR or --self-check");
            return 2;
        }
        return selfCheck ? selfCheck(seed) : check(dir, System.out, System.err);
    }

    /** Tiny random Mamba-1 and Mamba-2 models, checked against their own full-sequence forward. */
    private static int selfCheck(long seed) throws IOException {
        Path root = Files.createTempDirectory("flink-mamba-self-check");
        try {
            int worst = 0;
            for (LayerType layer : LayerType.values()) {
                MambaConfig config = RandomModels.config(layer, 48, 2, 64, 16);
                Path modelDir = root.resolve(layer.name().toLowerCase(Locale.ROOT) + "-tiny");
                ReferenceCheck.writeSelfCheck(RandomModels.create(config, seed, 0.1f), modelDir, 4, 64, seed);
                worst = Math.max(worst, check(modelDir, System.out, System.err));
            }
            System.out.println(worst == 0 ? "self-check: stepping equals the full forward for both layer types"
                    : "self-check: MISMATCH");
            return worst;
        } finally {
            FileTrees.delete(root);
        }
    }

    static int check(Path dir, PrintStream out, PrintStream err) {
        ReferenceCheck.Result result;
        try {
            result = ReferenceCheck.run(dir, CpuEngine::new);
        } catch (ModelFormatException e) {
            err.println("check-reference: " + e.getMessage().replace('\n', ' '));
            return 2;
        }
        out.printf(Locale.ROOT, "model %s: %s d_model=%d n_layer=%d d_state=%d%n", dir, result.config().layer(),
                result.config().dModel(), result.config().nLayer(), result.config().dState());
        for (ReferenceCheck.Comparison cmp : result.comparisons()) {
            out.printf(Locale.ROOT, "%-24s rel_err %.3e%n", cmp.name(), cmp.relativeError());
        }
        out.printf(Locale.ROOT, "tolerance %.0e: %s%n", result.tolerance(), result.passed() ? "PASS" : "FAIL");
        out.printf(Locale.ROOT, "max_rel_err %.3e%n", result.maxRelativeError());
        return result.passed() ? 0 : 1;
    }
}
