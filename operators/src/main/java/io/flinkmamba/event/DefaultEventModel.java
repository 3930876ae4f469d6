package io.flinkmamba.event;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The event model shipped in the jar (resources under {@value #RESOURCES}): univariate (one numeric field,
 * {@code value}), its input standardized per key by the running mean and standard deviation
 * ({@link InputTransform#RUNNING_STANDARDIZED}), trained on synthetic series only
 * ({@code io.flinkmamba.train.DefaultModelTraining}). A model setting of {@value #SETTING} names it.
 */
public final class DefaultEventModel {
    /** The model setting that names the shipped model instead of a folder. */
    public static final String SETTING = "builtin:default";
    static final String RESOURCES = "/io/flinkmamba/models/default/";
    static final List<String> FILES = List.of("config.json", "model.safetensors", EventModel.FILE);

    private static Path materialized;

    private DefaultEventModel() {}

    /** Whether a model setting names the shipped model rather than a folder. */
    public static boolean isDefault(String modelDir) {
        return SETTING.equals(modelDir);
    }

    /** The folder a model setting names: the shipped model's {@link #materialize} for {@value #SETTING}. */
    public static Path resolve(String modelDir) throws IOException {
        return isDefault(modelDir) ? materialize() : Path.of(modelDir);
    }

    /**
     * The shipped model as a folder: extracted once per JVM into a temporary folder, which is deleted when
     * the JVM exits; later calls (from any thread) return the same folder.
     */
    public static synchronized Path materialize() throws IOException {
        if (materialized != null) {
            return materialized;
        }
        Path dir = Files.createTempDirectory("flink-mamba-default-model");
        dir.toFile().deleteOnExit(); // registered first, so deleted after the files
        for (String name : FILES) {
            Path file = dir.resolve(name);
            file.toFile().deleteOnExit();
            try (InputStream in = DefaultEventModel.class.getResourceAsStream(RESOURCES + name)) {
                if (in == null) {
                    throw new IOException("the default event model's " + name + " is missing from the classpath ("
                            + RESOURCES + ")");
                }
                Files.copy(in, file);
            }
        }
        materialized = dir;
        return dir;
    }

    /** The shipped model, loaded. */
    public static EventModel load() throws IOException {
        return EventModel.load(materialize());
    }
}
