package io.flinkmamba.safetensors;

import java.io.IOException;

/** A safetensors file or checkpoint that cannot be read: the message names the file, the tensor and the problem. */
public class SafetensorsException extends IOException {
    public SafetensorsException(String message) {
        super(message);
    }

    public SafetensorsException(String message, Throwable cause) {
        super(message, cause);
    }
}
