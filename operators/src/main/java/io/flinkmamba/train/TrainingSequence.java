package io.flinkmamba.train;

/**
 * One key's events in time order.
 *
 * @param key      the key (the validation split is by key)
 * @param numeric  [t][field] raw values of the schema's numeric fields ([t] of length 0 without any), in double:
 *                 a running {@link io.flinkmamba.event.InputTransform} sees them as a job computing in double does
 * @param category [t] category indices (token ids for a language model), or null without a categorical field
 */
public record TrainingSequence(String key, double[][] numeric, int[] category) {

    /** A token language model's sequence: the token ids, no numeric values. */
    public static TrainingSequence tokens(String key, int[] tokens) {
        return new TrainingSequence(key, new double[tokens.length][0], tokens.clone());
    }

    public int length() {
        return numeric.length;
    }
}
