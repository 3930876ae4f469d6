package io.flinkmamba.jobs.anomaly;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

import java.util.List;

/** The anomaly job's own settings. */
public final class AnomalyOptions {
    private AnomalyOptions() {}

    public static final ConfigOption<List<String>> NUMERIC_FIELDS = ConfigOptions.key("mapping.numeric-fields")
            .stringType().asList().noDefaultValue()
            .withDescription("JSON fields holding the metric values (numbers), the model's numeric fields in its order.");

    public static final ConfigOption<String> CATEGORICAL_FIELD = ConfigOptions.key("mapping.categorical-field")
            .stringType().noDefaultValue()
            .withDescription("JSON field holding the event type, for a model with a categorical field.");

    static List<ConfigOption<?>> all() {
        return List.of(NUMERIC_FIELDS, CATEGORICAL_FIELD);
    }
}
