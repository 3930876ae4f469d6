package io.flinkmamba.event;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;

/**
 * What an event model sees of an event: numeric fields (in raw units; the model normalizes them) and at most
 * one categorical field with a fixed vocabulary.
 *
 * @param numericFields    names of the numeric fields, in input order
 * @param categoricalField name of the categorical field, or null for none
 * @param categories       vocabulary of the categorical field (empty without one)
 */
public record EventSchema(List<String> numericFields, String categoricalField, List<String> categories) {

    public EventSchema {
        numericFields = List.copyOf(numericFields);
        categories = List.copyOf(categories);
        if (categoricalField == null && !categories.isEmpty()) {
            throw new IllegalArgumentException("categories given without a categorical field");
        }
        if (categoricalField != null && categories.isEmpty()) {
            throw new IllegalArgumentException("categorical field '" + categoricalField + "' has no categories");
        }
        if (numericFields.isEmpty() && categoricalField == null) {
            throw new IllegalArgumentException("an event schema needs a numeric or a categorical field");
        }
        if (new HashSet<>(numericFields).size() != numericFields.size()) {
            throw new IllegalArgumentException("numeric field names repeat: " + numericFields);
        }
        if (new HashSet<>(categories).size() != categories.size()) {
            throw new IllegalArgumentException("categories repeat: " + categories);
        }
        if (categoricalField != null && numericFields.contains(categoricalField)) {
            throw new IllegalArgumentException("field '" + categoricalField + "' is both numeric and categorical");
        }
    }

    /** A schema of numeric fields only. */
    public static EventSchema numeric(String... fields) {
        return new EventSchema(List.of(fields), null, List.of());
    }

    public int numericCount() {
        return numericFields.size();
    }

    /** Categories of the categorical field; 0 without one. */
    public int categoryCount() {
        return categories.size();
    }

    public boolean hasCategory() {
        return categoricalField != null;
    }

    /** The index of {@code value} in {@link #categories()}, -1 when unknown. */
    public int categoryIndex(String value) {
        return categories.indexOf(Objects.requireNonNull(value, "category value"));
    }
}
