package io.flinkmamba.architecture;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The numerical core (model, engines, state layout and codecs, tensor files) must not depend on Flink:
 * it is tested and benchmarked alone, and the GPU tests run it with a small classpath.
 */
class NumericalCoreIsolationTest {
    private static final List<String> CORE_PACKAGES = List.of("model", "engine", "state", "safetensors", "tensor", "event", "train");

    @Test
    void coreSourcesImportNothingFromFlink() throws IOException {
        Path root = Path.of("src/main/java/io/flinkmamba");
        assertTrue(Files.isDirectory(root), "run from the operators module");
        int checked = 0;
        for (String pkg : CORE_PACKAGES) {
            Path dir = root.resolve(pkg);
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path file : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".java"))::iterator) {
                    List<String> flinkImports = Files.readAllLines(file).stream()
                            .filter(line -> line.matches("\\s*import\\s+(static\\s+)?org\\.apache\\.flink\\..*"))
                            .toList();
                    assertEquals(List.of(), flinkImports, file + " imports Flink");
                    checked++;
                }
            }
        }
        assertTrue(checked > 10, "expected the core sources, found " + checked);
    }
}
