package io.flinkmamba.event;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * What is done to an event's numeric fields before an event model's own normalization, declared by the model
 * ({@code input_transform} in {@code flink-mamba.json}) so that whoever feeds the model feeds what it was
 * trained on.
 */
public enum InputTransform {
    /** The raw values (the model's own mean/std normalization only); a file without the property means this. */
    NONE("none"),
    /**
     * Each numeric field standardized per key by {@link SeriesFeatures#next}: by the running mean and standard
     * deviation of the key's earlier values of that field, clipped to +-{@value SeriesFeatures#CLIP}.
     */
    RUNNING_STANDARDIZED("running_standardized");

    private final String jsonName;

    InputTransform(String jsonName) {
        this.jsonName = jsonName;
    }

    /** The name in {@code flink-mamba.json} and on the command line. */
    public String jsonName() {
        return jsonName;
    }

    /**
     * The transform named {@code name} ({@link #jsonName}, case-insensitive).
     *
     * @throws IllegalArgumentException for any other name, naming the known ones
     */
    public static InputTransform fromJsonName(String name) {
        for (InputTransform t : values()) {
            if (t.jsonName.equals(name.toLowerCase(Locale.ROOT))) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown input transform '" + name + "' (known: "
                + Arrays.stream(values()).map(InputTransform::jsonName).collect(Collectors.joining(", ")) + ")");
    }
}
