package io.flinkmamba.safetensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Builds safetensors files byte by byte, bypassing the writer, so tests can make malformed ones. */
final class RawFiles {
    private RawFiles() {}

    /** A file whose header is {@code json} with its true length, followed by {@code dataBytes} zero bytes. */
    static Path write(Path file, String json, long dataBytes) throws IOException {
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        return write(file, header.length, header, dataBytes);
    }

    /**
     * A file declaring a header of {@code declaredLength} bytes, then {@code header}, then {@code dataBytes}
     * bytes of data region (written sparsely: only the length is set).
     */
    static Path write(Path file, long declaredLength, byte[] header, long dataBytes) throws IOException {
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, declaredLength));
            out.write(ByteBuffer.wrap(header));
            if (dataBytes > 0) {
                // Writing the last byte sets the length; the hole before it reads as zeros.
                out.write(ByteBuffer.wrap(new byte[1]), 8 + header.length + dataBytes - 1);
            }
        }
        return file;
    }

    /** Opening {@code file} fails; returns the message after checking it names the file. */
    static String openFailure(Path file) {
        String message = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(file).close())
                .getMessage();
        assertMentions(message, file.toString());
        return message;
    }

    static void assertMentions(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), () -> "'" + message + "' should mention '" + part + "'");
        }
    }
}
