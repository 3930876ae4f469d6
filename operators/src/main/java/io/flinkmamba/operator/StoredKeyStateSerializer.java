package io.flinkmamba.operator;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;

/**
 * The keyed-state serializer of {@link StoredKeyState}, so that no Kryo runs on this path. Format version 2:
 * <pre>
 *   byte   format version (2)
 *   int    layout version
 *   long   model fingerprint
 *   byte   codec id
 *   long   events seen
 *   long   last event time
 *   int n, n floats    last hidden vector
 *   int m, m bytes     encoded state
 *   int k, k doubles   anomaly likelihood state (format 2 on; format 1 records read with none)
 * </pre>
 * Every record starts with its format byte, so this version reads format 1 records as well; the snapshot
 * (version 4; versions 2 and 3 were Flink's SimpleTypeSerializerSnapshot of format 1) records the format.
 */
@Internal
public final class StoredKeyStateSerializer extends TypeSerializerSingleton<StoredKeyState> {
    public static final StoredKeyStateSerializer INSTANCE = new StoredKeyStateSerializer();
    private static final byte FORMAT = 2;
    private static final byte FORMAT_WITHOUT_LIKELIHOOD = 1;

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public StoredKeyState createInstance() {
        return null;
    }

    @Override
    public StoredKeyState copy(StoredKeyState from) {
        return new StoredKeyState(from.layoutVersion(), from.fingerprint(), from.codecId(), from.eventsSeen(),
                from.lastEventTime(), from.lastHidden().clone(), from.encodedState().clone(),
                from.likelihood().clone());
    }

    @Override
    public StoredKeyState copy(StoredKeyState from, StoredKeyState reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(StoredKeyState s, DataOutputView out) throws IOException {
        out.writeByte(FORMAT);
        out.writeInt(s.layoutVersion());
        out.writeLong(s.fingerprint());
        out.writeByte(s.codecId());
        out.writeLong(s.eventsSeen());
        out.writeLong(s.lastEventTime());
        out.writeInt(s.lastHidden().length);
        for (float v : s.lastHidden()) {
            out.writeFloat(v);
        }
        out.writeInt(s.encodedState().length);
        out.write(s.encodedState());
        out.writeInt(s.likelihood().length);
        for (double v : s.likelihood()) {
            out.writeDouble(v);
        }
    }

    @Override
    public StoredKeyState deserialize(DataInputView in) throws IOException {
        byte format = in.readByte();
        if (format != FORMAT && format != FORMAT_WITHOUT_LIKELIHOOD) {
            throw new IOException("stored Mamba key state has format " + format + ", this version reads "
                    + FORMAT_WITHOUT_LIKELIHOOD + " and " + FORMAT);
        }
        int layoutVersion = in.readInt();
        long fingerprint = in.readLong();
        byte codec = in.readByte();
        long events = in.readLong();
        long lastTime = in.readLong();
        float[] hidden = new float[checkedLength(in.readInt())];
        for (int i = 0; i < hidden.length; i++) {
            hidden[i] = in.readFloat();
        }
        byte[] encoded = new byte[checkedLength(in.readInt())];
        in.readFully(encoded);
        double[] likelihood = new double[format == FORMAT ? checkedLength(in.readInt()) : 0];
        for (int i = 0; i < likelihood.length; i++) {
            likelihood[i] = in.readDouble();
        }
        return new StoredKeyState(layoutVersion, fingerprint, codec, events, lastTime, hidden, encoded, likelihood);
    }

    private static int checkedLength(int n) throws IOException {
        if (n < 0) {
            throw new IOException("corrupt stored Mamba key state: negative length " + n);
        }
        return n;
    }

    @Override
    public StoredKeyState deserialize(StoredKeyState reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    @Override
    public TypeSerializerSnapshot<StoredKeyState> snapshotConfiguration() {
        return new Snapshot();
    }

    /**
     * Snapshot of the config-less serializer; restores to {@link #INSTANCE}, which reads every record format,
     * so any earlier snapshot of this class is compatible as is.
     */
    public static final class Snapshot implements TypeSerializerSnapshot<StoredKeyState> {
        private static final int VERSION = 4;
        private int format = FORMAT;

        public Snapshot() {}

        /** The record format the snapshotted serializer wrote. */
        public int format() {
            return format;
        }

        @Override
        public int getCurrentVersion() {
            return VERSION;
        }

        @Override
        public void writeSnapshot(DataOutputView out) throws IOException {
            out.writeByte(FORMAT);
        }

        @Override
        public void readSnapshot(int readVersion, DataInputView in, ClassLoader classLoader) throws IOException {
            switch (readVersion) {
                case 2 -> {
                    in.readUTF(); // SimpleTypeSerializerSnapshot v2 wrote the serializer's class name
                    format = FORMAT_WITHOUT_LIKELIHOOD;
                }
                case 3 -> format = FORMAT_WITHOUT_LIKELIHOOD;
                case VERSION -> format = in.readByte();
                default -> throw new IOException("unknown snapshot version " + readVersion + " of "
                        + StoredKeyStateSerializer.class.getSimpleName());
            }
        }

        @Override
        public TypeSerializer<StoredKeyState> restoreSerializer() {
            return INSTANCE;
        }

        @Override
        public TypeSerializerSchemaCompatibility<StoredKeyState> resolveSchemaCompatibility(
                TypeSerializerSnapshot<StoredKeyState> oldSerializerSnapshot) {
            return oldSerializerSnapshot instanceof Snapshot
                    ? TypeSerializerSchemaCompatibility.compatibleAsIs()
                    : TypeSerializerSchemaCompatibility.incompatible();
        }
    }
}
