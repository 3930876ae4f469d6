package io.flinkmamba.operator.internal;

import io.flinkmamba.event.EventModel;
import io.flinkmamba.model.MambaModel;
import io.flinkmamba.model.ModelFingerprint;
import io.flinkmamba.model.ModelLoader;
import org.apache.flink.annotation.Internal;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The model an operator runs, loaded from its folder: a plain model (config.json and model.safetensors),
 * or an event model (with {@code flink-mamba.json}), whose backbone is stepped and whose heads score.
 *
 * @param backbone    the Mamba model the engine steps
 * @param eventModel  the event model, or null for a plain model
 * @param fingerprint identifies the model in every stored key state
 */
@Internal
public record OperatorModel(MambaModel backbone, EventModel eventModel, long fingerprint) {

    /**
     * Loads the model in {@code dir}; {@code eventExtractor}: whether the operator was given an event
     * extractor (event models) rather than an input encoder (plain models), which must match the folder.
     */
    public static OperatorModel load(Path dir, boolean eventExtractor) throws IOException {
        if (EventModel.isEventModel(dir)) {
            if (!eventExtractor) {
                throw new IllegalArgumentException(dir + " holds an event model (" + EventModel.FILE
                        + "): give the builder an eventExtractor instead of an inputEncoder");
            }
            EventModel eventModel = EventModel.load(dir);
            return new OperatorModel(eventModel.backbone(), eventModel, eventModel.fingerprint());
        }
        if (eventExtractor) {
            throw new IllegalArgumentException(dir + " holds no event model (no " + EventModel.FILE
                    + "), but the builder was given an eventExtractor; use an inputEncoder");
        }
        MambaModel model = ModelLoader.load(dir);
        return new OperatorModel(model, null, ModelFingerprint.of(model));
    }
}
