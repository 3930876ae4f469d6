package io.flinkmamba.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * A 64-bit identity of a model: the first 8 bytes of SHA-256 over its config and every weight. Stored
 * with each key's state so that a state is never stepped by a model that did not write it.
 */
public final class ModelFingerprint {
    private ModelFingerprint() {}

    public static long of(MambaModel model) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
        sha.update(model.config().toString().getBytes(StandardCharsets.UTF_8));
        update(sha, model.embedding());
        for (LayerWeights w : model.layers()) {
            for (float[] tensor : new float[][] {w.norm(), w.normBias(), w.inProj(), w.inProjBias(), w.conv(),
                    w.convBias(), w.xProj(), w.dtProj(), w.dtBias(), w.aLog(), w.d(), w.gatedNorm(), w.outProj(),
                    w.outProjBias()}) {
                update(sha, tensor);
            }
        }
        update(sha, model.normF());
        update(sha, model.normFBias());
        update(sha, model.lmHead() == model.embedding() ? null : model.lmHead());
        return ByteBuffer.wrap(sha.digest()).getLong();
    }

    private static void update(MessageDigest sha, float[] tensor) {
        if (tensor == null) {
            sha.update((byte) 0);
            return;
        }
        ByteBuffer bytes = ByteBuffer.allocate(4 + 4 * tensor.length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putInt(tensor.length);
        bytes.asFloatBuffer().put(tensor);
        sha.update(bytes.array());
    }
}
