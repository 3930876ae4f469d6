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

    public static final ConfigOption<Double> THRESHOLD = ConfigOptions.key("anomaly.threshold")
            .doubleType().defaultValue(0.9999)
            .withDescription("An event whose anomaly likelihood reaches this is flagged \"anomaly\": true.");

    static List<ConfigOption<?>> all() {
        return List.of(NUMERIC_FIELDS, CATEGORICAL_FIELD, THRESHOLD);
    }
}
