package io.flinkmamba.event;

import java.util.Arrays;

/**
 * One event's values in schema order, as an {@code EventExtractor} fills them: numeric fields in raw units
 * and the category's index. Reused from event to event.
 */
public final class EventFields {
    private final EventSchema schema;
    private final float[] numeric;
    private int category = -1;

    public EventFields(EventSchema schema) {
        this.schema = schema;
        this.numeric = new float[schema.numericCount()];
        clear();
    }

    public EventSchema schema() {
        return schema;
    }

    /** Numeric fields all NaN (unset), category -1 (unset). */
    public void clear() {
        Arrays.fill(numeric, Float.NaN);
        category = -1;
    }

    /** Sets numeric field {@code index} (schema order) in raw units. */
    public void numeric(int index, double value) {
        numeric[index] = (float) value;
    }

    /** Sets the category by its index in the schema's vocabulary. */
    public void category(int index) {
        this.category = index;
    }

    /** The numeric fields (length = number of numeric fields); the live array, not a copy. */
    public float[] numeric() {
        return numeric;
    }

    public int category() {
        return category;
    }

    /** Why these values cannot be scored or encoded, or null when they can. */
    public String problem() {
        for (int i = 0; i < numeric.length; i++) {
            if (!Float.isFinite(numeric[i])) {
                return "numeric field '" + schema.numericFields().get(i) + "' is " + numeric[i];
            }
        }
        if (schema.hasCategory() && (category < 0 || category >= schema.categoryCount())) {
            return category < 0 ? "categorical field '" + schema.categoricalField() + "' is unset or unknown"
                    : "category index " + category + " is outside 0.." + (schema.categoryCount() - 1);
        }
        return null;
    }

    /** Copies another event's values (same schema). */
    public void copyFrom(EventFields other) {
        System.arraycopy(other.numeric, 0, numeric, 0, numeric.length);
        category = other.category;
    }
}
