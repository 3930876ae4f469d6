package io.flinkmamba.operator.internal;

import org.apache.flink.annotation.Internal;

import java.util.Arrays;

/**
 * A key's decoded state while it is stepped or cached between bundles: its recurrent state in the storage
 * that {@link StateSlots} gave it (a heap array in {@code state}, or device slot {@code slot}, then
 * {@code state} is empty), and the rest of what {@link io.flinkmamba.operator.StoredKeyState} stores.
 */
@Internal
public final class LiveKey {
    /** {@code lastEventTime} of a key that has seen no event since its state started. */
    public static final long NO_TIME = Long.MIN_VALUE;

    /** Stepped in place by engines that step sequences; replaced when a session restarts mid-bundle. */
    public float[] state;
    public int slot = -1;
    /** Reset since its slot was last written: the slot must be zeroed before the next step. */
    public boolean slotStale;
    public float[] lastHidden;
    /** The anomaly likelihood state (event models), kept across session resets. */
    public double[] likelihood;
    public long eventsSeen;
    public long lastEventTime = NO_TIME;
    public long lastAccess;
    /** The number of the last bundle that stepped the key. */
    public long lastBundle;
    /** Changed since it was last written to keyed state. */
    public boolean dirty;

    /** Starts the key's state afresh (session gap, expiry); the likelihood state stays. */
    public void reset() {
        Arrays.fill(state, 0f);
        slotStale = slot >= 0;
        lastHidden = null;
        eventsSeen = 0;
        lastEventTime = NO_TIME;
        dirty = true;
    }
}
