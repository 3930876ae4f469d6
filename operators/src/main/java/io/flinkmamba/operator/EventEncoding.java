package io.flinkmamba.operator;

import io.flinkmamba.event.EventFields;
import io.flinkmamba.event.EventModel;
import io.flinkmamba.model.MambaConfig;
import io.flinkmamba.operator.internal.BufferedEvent;
import org.apache.flink.annotation.Internal;

/**
 * Turns an arriving event into model input, or says why it cannot: the user's {@link InputEncoder} (plain
 * models) or {@link EventExtractor} and the event model's encoding (event models), then the checks of the
 * result (a token in the vocabulary, finite features and fields). Owns the buffers they write into, reused
 * from event to event; {@link #buffered} copies them into the bundle. In the operator's package because
 * {@link ModelInput}'s reading side is not public.
 */
@Internal
final class EventEncoding<IN> {
    private final InputEncoder<IN> encoder;
    private final EventExtractor<IN> extractor;
    private final EventModel eventModel;
    private final EventFields eventFields;
    private final ModelInput modelInput;
    private final int vocabSize;

    /** {@code eventModel} (with {@code extractor}) or {@code encoder}: the other is null. */
    EventEncoding(InputEncoder<IN> encoder, EventExtractor<IN> extractor, EventModel eventModel, MambaConfig config) {
        this.encoder = encoder;
        this.extractor = extractor;
        this.eventModel = eventModel;
        this.eventFields = eventModel == null ? null : new EventFields(eventModel.schema());
        this.modelInput = new ModelInput(config.hasLmHead(), config.dModel());
        this.vocabSize = config.vocabSize();
    }

    /** The model input bytes of one buffered event. */
    long inputBytes() {
        return modelInput.takesTokens() ? Integer.BYTES : (long) Float.BYTES * modelInput.features().length;
    }

    /** Encodes the event into the reused buffers; returns why it cannot be used, or null. */
    String encode(IN event) {
        modelInput.reset();
        if (eventModel != null) {
            eventFields.clear();
            try {
                extractor.extract(event, eventFields);
            } catch (Exception e) {
                return "event extractor failed: " + e;
            }
            String problem = eventFields.problem();
            if (problem != null) {
                return problem;
            }
            eventModel.encode(eventFields, modelInput.features());
        }
        try {
            if (encoder != null) {
                encoder.encode(event, modelInput);
            }
        } catch (Exception e) {
            return "input encoder failed: " + e;
        }
        if (modelInput.takesTokens()) {
            int token = modelInput.token();
            if (token < 0 || token >= vocabSize) {
                return token < 0 ? "input encoder set no token id"
                        : "token id " + token + " is outside the vocabulary 0.." + (vocabSize - 1);
            }
            return null;
        }
        float[] features = modelInput.features();
        for (int i = 0; i < features.length; i++) {
            if (!Float.isFinite(features[i])) {
                return "feature " + i + " is " + features[i];
            }
        }
        return null;
    }

    /** The last event {@link #encode}d without a problem, with private copies of its input for the bundle. */
    <K> BufferedEvent<K, IN> buffered(K key, IN event, long timestamp, long sessionTime) {
        boolean tokens = modelInput.takesTokens();
        return new BufferedEvent<>(key, event, timestamp, sessionTime, tokens ? modelInput.token() : -1,
                tokens ? null : modelInput.features().clone(),
                eventModel == null ? null : eventFields.numeric().clone(), eventModel == null ? -1 : eventFields.category());
    }
}
