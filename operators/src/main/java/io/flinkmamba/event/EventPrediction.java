package io.flinkmamba.event;

import java.util.Arrays;

/**
 * An event model's prediction of a key's next event.
 *
 * @param mean                  expected value of each numeric field, raw units
 * @param std                   predicted standard deviation of each numeric field, raw units
 * @param categoryProbabilities probability of each category (schema order); empty without a categorical field
 */
public record EventPrediction(float[] mean, float[] std, float[] categoryProbabilities) {

    @Override
    public boolean equals(Object o) {
        return o instanceof EventPrediction p && Arrays.equals(p.mean, mean) && Arrays.equals(p.std, std)
                && Arrays.equals(p.categoryProbabilities, categoryProbabilities);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(mean) + 31 * Arrays.hashCode(std) + 17 * Arrays.hashCode(categoryProbabilities);
    }

    @Override
    public String toString() {
        return "EventPrediction{mean=" + Arrays.toString(mean) + ", std=" + Arrays.toString(std)
                + ", categories=" + Arrays.toString(categoryProbabilities) + "}";
    }
}
