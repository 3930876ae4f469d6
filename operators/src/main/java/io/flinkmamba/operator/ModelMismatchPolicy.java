package io.flinkmamba.operator;

import org.apache.flink.annotation.PublicEvolving;

/** What to do with a key whose stored state was written by another model or state layout. */
@PublicEvolving
public enum ModelMismatchPolicy {
    /** Start the key from a zero state (counted in the stateResetsModelMismatch metric, logged once). */
    RESET,
    /** Fail the job with a message naming the fingerprints. */
    FAIL
}
