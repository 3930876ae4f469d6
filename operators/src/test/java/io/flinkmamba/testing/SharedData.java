package io.flinkmamba.testing;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the read-only shared test data beside the project; tests that need it skip without it. */
public final class SharedData {
    private SharedData() {}

    /** {@code shared/<relative>} next to the project root, or a skipped test when it is absent. */
    public static Path require(String relative) {
        for (String root : new String[] {"../shared", "../../shared"}) {
            Path p = Path.of(root, relative);
            if (Files.exists(p)) {
                return p.toAbsolutePath().normalize();
            }
        }
        Assumptions.abort("shared/" + relative + " is not present beside the project (cloned alone)");
        throw new AssertionError("unreachable");
    }
}
