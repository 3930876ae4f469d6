package io.flinkmamba.train;

/**
 * One key's events in time order.
 *
 * @param key      the key (the validation split is by key)
 * @param numeric  [t][field] raw values of the schema's numeric fields ([t] of length 0 without any)
 * @param category [t] category indices, or null without a categorical field
 */
public record TrainingSequence(String key, float[][] numeric, int[] category) {

    public int length() {
        return numeric.length;
    }
}
