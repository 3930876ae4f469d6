package io.flinkmamba.cli;

import io.flinkmamba.engine.ReferenceCheck;
import io.flinkmamba.model.MambaConfig;
import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.model.RandomModels;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * The first-run demo. Until the streaming demo (embedded Kafka and Flink) exists, it exercises the
 * numerical core on nothing but the jar: it generates a tiny random Mamba-1 and Mamba-2 model in the
 * official folder layout, with expected outputs from the layer-by-layer full forward, and runs
 * check-reference on each, which steps every key event by event and compares.
 */
@Command(name = "demo",
        mixinStandardHelpOptions = true,
        description = "Generates tiny random Mamba-1 and Mamba-2 models and runs check-reference on them"
                + " (step-by-step engine against the full-sequence forward).")
final class DemoCommand implements Callable<Integer> {

    @Option(names = "--seed", defaultValue = "1", description = "Random seed (default 1).")
    long seed;

    @Option(names = "--keep", description = "Folder to write the generated models to, kept afterwards.")
    Path keep;

    @Override
    public Integer call() throws IOException {
        Path root = keep != null ? Files.createDirectories(keep) : Files.createTempDirectory("flink-mamba-demo");
        try {
            int worst = 0;
            for (LayerType layer : LayerType.values()) {
                MambaConfig config = RandomModels.config(layer, 48, 2, 64, 16);
                Path dir = root.resolve(layer.name().toLowerCase(java.util.Locale.ROOT) + "-tiny");
                ReferenceCheck.writeSelfCheck(RandomModels.create(config, seed, 0.1f), dir, 4, 64, seed);
                worst = Math.max(worst, CheckReferenceCommand.check(dir, System.out, System.err));
            }
            System.out.println(worst == 0 ? "demo: stepping equals the full forward for both layer types"
                    : "demo: MISMATCH");
            return worst;
        } finally {
            if (keep == null) {
                deleteTree(root);
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
