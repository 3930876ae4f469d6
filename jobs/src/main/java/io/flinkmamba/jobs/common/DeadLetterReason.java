package io.flinkmamba.jobs.common;

import java.util.Locale;

/** Why a record went to the dead-letter topic; {@link #code()} is the {@code reason} field. */
public enum DeadLetterReason {
    /** Not a JSON object (or empty). */
    UNPARSEABLE,
    /** A field appears twice in one JSON object. */
    DUPLICATE_FIELD,
    /** Larger than limits.max-record-bytes. */
    OVERSIZED,
    /** The key field is absent, null or empty. */
    MISSING_KEY,
    /** A mapped field (timestamp, numeric, categorical) is absent or null. */
    MISSING_FIELD,
    /** A mapped field has the wrong JSON type (a string where a number belongs, ...). */
    WRONG_TYPE,
    /** A numeric field is NaN or infinite. */
    NOT_FINITE,
    /** The timestamp does not parse in the configured format (or is an epoch number in another unit). */
    BAD_TIMESTAMP,
    /** The timestamp is further ahead of the wall clock than limits.max-future. */
    FUTURE_TIMESTAMP,
    /** The categorical value is not in the model's vocabulary. */
    UNKNOWN_CATEGORY,
    /** The event arrived behind the watermark (the operator's late side output). */
    LATE,
    /** The operator refused the event (its rejected side output; the detail says why). */
    REJECTED;

    public String code() {
        return name().toLowerCase(Locale.ROOT);
    }
}
