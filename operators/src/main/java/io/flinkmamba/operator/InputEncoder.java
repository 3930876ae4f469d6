package io.flinkmamba.operator;

import org.apache.flink.annotation.PublicEvolving;

import java.io.Serializable;

/**
 * Turns an event into the model's input. An exception, a NaN or infinite feature, or a token outside the
 * vocabulary sends the event to the rejected-events side output with the reason; the key's state is not
 * touched.
 */
@PublicEvolving
@FunctionalInterface
public interface InputEncoder<IN> extends Serializable {
    void encode(IN event, ModelInput input) throws Exception;
}
