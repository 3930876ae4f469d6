package io.flinkmamba.operator;

import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class StoredKeyStateSerializerTest {

    @Test
    void roundTripsWithTheLikelihoodState() throws Exception {
        StoredKeyState s = new StoredKeyState(1, 42L, (byte) 0, 7, 99, new float[] {1, 2}, new byte[] {3, 4, 5},
                new double[] {10, 0.5, 0.25, 1.5});
        DataOutputSerializer out = new DataOutputSerializer(64);
        StoredKeyStateSerializer.INSTANCE.serialize(s, out);
        assertEquals(s, StoredKeyStateSerializer.INSTANCE.deserialize(new DataInputDeserializer(out.getCopyOfBuffer())));
    }

    @Test
    void readsFormatOneRecordsWithoutALikelihood() throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(64);
        out.writeByte(1);
        out.writeInt(1);
        out.writeLong(42L);
        out.writeByte(0);
        out.writeLong(7);
        out.writeLong(99);
        out.writeInt(2);
        out.writeFloat(1);
        out.writeFloat(2);
        out.writeInt(3);
        out.write(new byte[] {3, 4, 5});
        StoredKeyState read = StoredKeyStateSerializer.INSTANCE.deserialize(
                new DataInputDeserializer(out.getCopyOfBuffer()));
        assertEquals(new StoredKeyState(1, 42L, (byte) 0, 7, 99, new float[] {1, 2}, new byte[] {3, 4, 5},
                new double[0]), read);
    }

    @Test
    void snapshotsOfTheOldSimpleFormRestore() throws Exception {
        StoredKeyStateSerializer.Snapshot old = new StoredKeyStateSerializer.Snapshot();
        old.readSnapshot(3, new DataInputDeserializer(new byte[0]), getClass().getClassLoader());
        assertEquals(1, old.format());
        StoredKeyStateSerializer.Snapshot current = new StoredKeyStateSerializer.Snapshot();
        DataOutputSerializer out = new DataOutputSerializer(8);
        current.writeSnapshot(out);
        StoredKeyStateSerializer.Snapshot read = new StoredKeyStateSerializer.Snapshot();
        read.readSnapshot(current.getCurrentVersion(), new DataInputDeserializer(out.getCopyOfBuffer()),
                getClass().getClassLoader());
        assertEquals(2, read.format());
        assertEquals(true, current.resolveSchemaCompatibility(old).isCompatibleAsIs());
        assertEquals(StoredKeyStateSerializer.INSTANCE, read.restoreSerializer());
    }
}
