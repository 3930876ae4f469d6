package io.flinkmamba.jobs.session;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

import java.util.List;

/** The session job's own settings. */
public final class SessionOptions {
    private SessionOptions() {}

    public static final ConfigOption<String> CATEGORICAL_FIELD = ConfigOptions.key("mapping.categorical-field")
            .stringType().noDefaultValue()
            .withDescription("JSON field holding the event type (a string).");

    public static final ConfigOption<List<String>> CATEGORIES = ConfigOptions.key("mapping.categories")
            .stringType().asList().noDefaultValue()
            .withDescription("For a token model: the event types in token-id order (token i is the i-th), at most its "
                    + "vocab_size. An event model brings its own vocabulary.");

    public static final ConfigOption<Integer> TOP_K = ConfigOptions.key("session.top-k")
            .intType().defaultValue(3)
            .withDescription("Most likely next events listed per result.");

    public static final ConfigOption<Boolean> EMBEDDING = ConfigOptions.key("session.embedding")
            .booleanType().defaultValue(false)
            .withDescription("Add the session embedding (the model's hidden vector after the event) to each result.");

    static List<ConfigOption<?>> all() {
        return List.of(CATEGORICAL_FIELD, CATEGORIES, TOP_K, EMBEDDING);
    }
}
