package io.flinkmamba.safetensors;

/** The element types a safetensors header may name, with their sizes in bytes. */
public enum DType {
    F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** Whether {@link TensorSource#readFloats} converts this type. */
    boolean isFloat() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    /** Whether {@link TensorSource#readLongs} converts this type. */
    boolean isInteger() {
        return this == I64 || this == I32 || this == I16 || this == I8 || this == U8;
    }

    /**
     * The dtype a header names, spelled as safetensors spells it ("F32", "BF16", ...).
     *
     * @throws SafetensorsException for names this library does not read (F8_E4M3, U64, ...); callers that
     *     know the file and tensor add them to the message
     */
    public static DType parse(String name) throws SafetensorsException {
        for (DType type : values()) {
            if (type.name().equals(name)) {
                return type;
            }
        }
        throw new SafetensorsException("unknown or unsupported dtype '" + name
                + "' (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
    }
}
