package io.flinkmamba.operator;

import io.flinkmamba.event.EventFields;
import org.apache.flink.annotation.PublicEvolving;

import java.io.Serializable;

/**
 * Fills an event model's fields from an event (for a model folder with {@code flink-mamba.json}, in place
 * of an {@link InputEncoder}). {@code fields} is cleared before each call. An exception, a numeric field left
 * NaN or set non-finite, or an unset or unknown category sends the event to the rejected-events side output
 * with the reason; the key's state is not touched.
 */
@PublicEvolving
@FunctionalInterface
public interface EventExtractor<IN> extends Serializable {
    void extract(IN event, EventFields fields) throws Exception;
}
