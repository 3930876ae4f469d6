package io.flinkmamba.operator;

import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;

/**
 * The keyed-state serializer of {@link StoredKeyState}, so that no Kryo runs on this path. Format version 1:
 * <pre>
 *   byte   format version (1)
 *   int    layout version
 *   long   model fingerprint
 *   byte   codec id
 *   long   events seen
 *   long   last event time
 *   int n, n floats    last hidden vector
 *   int m, m bytes     encoded state
 * </pre>
 * The leading byte lets a later format read this one; the snapshot is a plain singleton snapshot.
 */
public final class StoredKeyStateSerializer extends TypeSerializerSingleton<StoredKeyState> {
    public static final StoredKeyStateSerializer INSTANCE = new StoredKeyStateSerializer();
    private static final byte FORMAT = 1;

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
                from.lastEventTime(), from.lastHidden().clone(), from.encodedState().clone());
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
    }

    @Override
    public StoredKeyState deserialize(DataInputView in) throws IOException {
        byte format = in.readByte();
        if (format != FORMAT) {
            throw new IOException("stored Mamba key state has format " + format + ", this version reads " + FORMAT);
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
        return new StoredKeyState(layoutVersion, fingerprint, codec, events, lastTime, hidden, encoded);
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

    /** Snapshot of the config-less serializer; restores to {@link #INSTANCE}. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<StoredKeyState> {
        public Snapshot() {
            super(() -> INSTANCE);
        }
    }
}
