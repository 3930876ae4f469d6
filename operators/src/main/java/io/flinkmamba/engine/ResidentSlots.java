package io.flinkmamba.engine;

/**
 * An engine's pool of key states resident where it computes (the CUDA engine's device memory), in numbered
 * slots: a key stepped from its slot costs no state transfer, only its inputs and outputs move. States move
 * in and out of slots explicitly, as packed float32 rows in {@link MambaEngine#stateLayout()} order.
 */
public interface ResidentSlots {

    /** The number of slots, numbered from 0. */
    int residentSlots();

    /**
     * Steps row r's key in slot {@code slots[r]}, in place, for the first {@code batch.size()} rows: like
     * {@link MambaEngine#step}, except that {@code batch.states()} is not used.
     */
    void stepResident(StepBatch batch, int[] slots);

    /** Copies {@code count} float32 states, packed in {@code states}, into slots {@code slots[0..count)}. */
    void writeSlots(int[] slots, int count, float[] states);

    /** Copies slots {@code slots[0..count)} out as packed float32 states. */
    void readSlots(int[] slots, int count, float[] states);
}
