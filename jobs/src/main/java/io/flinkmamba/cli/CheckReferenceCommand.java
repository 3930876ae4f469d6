package io.flinkmamba.cli;

import io.flinkmamba.engine.CpuEngine;
import io.flinkmamba.engine.ReferenceCheck;
import io.flinkmamba.model.ModelFormatException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

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
                "Exit 0 when max_rel_err is within 1e-5 (Mamba-1) or 1e-4 (Mamba-2), 1 when not, 2 when DIR is missing"
                        + " or malformed."})
final class CheckReferenceCommand implements Callable<Integer> {

    @Parameters(paramLabel = "DIR", description = "Folder with config.json, model.safetensors (or a shard index)"
            + " and expected.safetensors.")
    Path dir;

    @Override
    public Integer call() {
        return check(dir, System.out, System.err);
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
