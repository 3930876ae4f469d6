package io.flinkmamba.model;

import java.io.IOException;

/** A model folder that cannot be loaded: the message names the file, the tensor and the problem. */
public class ModelFormatException extends IOException {
    public ModelFormatException(String message) {
        super(message);
    }

    public ModelFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
