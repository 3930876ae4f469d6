package io.flinkmamba.operator;

import org.apache.flink.annotation.PublicEvolving;

import java.io.Serializable;

/** Builds the operator's result for an event from the event and the model's output after it. */
@PublicEvolving
@FunctionalInterface
public interface OutputMapper<IN, OUT> extends Serializable {
    OUT map(IN event, MambaOutput output) throws Exception;
}
