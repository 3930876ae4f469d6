package io.flinkmamba.operator.internal;

import org.apache.flink.annotation.Internal;

import java.util.Arrays;

/**
 * A key's decoded state while it is stepped or cached between bundles: its recurrent state in the storage
 * that {@link StateSlots} gave it (a heap array in {@code state}, or device slot {@code slot}, then
 * {@code state} is empty), and the rest of what {@link io.flinkmamba.operator.StoredKeyState} stores.
 */
@Internal
final class LiveKey {
    /** {@code lastEventTime} of a key that has seen no event since its state started. */
    static final long NO_TIME = Long.MIN_VALUE;

    /** Stepped in place by engines that step sequences; replaced when a session restarts mid-bundle. */
    float[] state;
    int slot = -1;
    /** Reset since its slot was last written: the slot must be zeroed before the next step. */
    boolean slotStale;
    float[] lastHidden;
    /** The anomaly likelihood state (event models), kept across session resets. */
    double[] likelihood;
    long eventsSeen;
    long lastEventTime = NO_TIME;
    long lastAccess;
    /** The number of the last bundle that stepped the key. */
    long lastBundle;
    /** Changed since it was last written to keyed state. */
    boolean dirty;

    /** Starts the key's state afresh (session gap, expiry); the likelihood state stays. */
    void reset() {
        Arrays.fill(state, 0f);
        slotStale = slot >= 0;
        lastHidden = null;
        eventsSeen = 0;
        lastEventTime = NO_TIME;
        dirty = true;
    }
}
