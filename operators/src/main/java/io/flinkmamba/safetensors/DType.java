package io.flinkmamba.safetensors;

/** The element types a safetensors header may name, with their sizes in bytes. */
public enum DType {
    F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    public int byteSize() {
        return byteSize;
    }

    boolean isFloat() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    /** The dtype a header names; unknown names (F8_E4M3, U64, ...) are refused. */
    static DType parse(String name, String tensor, Object file) throws SafetensorsException {
        try {
            return valueOf(name);
        } catch (IllegalArgumentException e) {
            throw new SafetensorsException(file + ": tensor " + tensor + " has unknown or unsupported dtype '" + name
                    + "' (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
        }
    }
}
