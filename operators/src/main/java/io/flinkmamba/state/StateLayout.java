package io.flinkmamba.state;

/**
 * The packed float32 layout of one key's Mamba state, version {@value #VERSION}.
 *
 * <p>All that a recurrent step needs, per layer {@code l = 0 .. nLayer-1}, one layer after the other:
 * <pre>
 *   conv window: (dConv - 1) rows x convChannels   the last dConv-1 conv inputs, oldest row first
 *   ssm state:   ssmRows rows x dState             Mamba-1: d_inner rows; Mamba-2: nheads*headdim rows
 * </pre>
 * Mamba-1 has convChannels = d_inner; Mamba-2 convolves x, B and C together, so convChannels =
 * d_inner + 2*ngroups*d_state. The conv window is time-major (a row is one past input) so a step
 * shifts whole rows; the ssm rows are in the reference's order ((d_inner, d_state) for Mamba-1,
 * (nheads, headdim, d_state) for Mamba-2). A fresh key's state is all zeros.
 *
 * <p>The rows are also the unit of the int8 codec's scales. Any change to this layout must bump
 * {@link #VERSION}, which is stored with every encoded state.
 */
public final class StateLayout {
    public static final int VERSION = 1;

    private final int nLayer;
    private final int dConv;
    private final int convChannels;
    private final int ssmRows;
    private final int dState;

    public StateLayout(int nLayer, int dConv, int convChannels, int ssmRows, int dState) {
        if (nLayer < 1 || dConv < 2 || convChannels < 1 || ssmRows < 1 || dState < 1) {
            throw new IllegalArgumentException("invalid state layout: n_layer=" + nLayer + " d_conv=" + dConv
                    + " conv_channels=" + convChannels + " ssm_rows=" + ssmRows + " d_state=" + dState);
        }
        this.nLayer = nLayer;
        this.dConv = dConv;
        this.convChannels = convChannels;
        this.ssmRows = ssmRows;
        this.dState = dState;
    }

    public int nLayer() { return nLayer; }
    public int dConv() { return dConv; }
    public int convChannels() { return convChannels; }
    public int ssmRows() { return ssmRows; }
    public int dState() { return dState; }

    /** Floats of one layer's conv window. */
    public int convFloats() { return (dConv - 1) * convChannels; }

    /** Floats of one layer's ssm state. */
    public int ssmFloats() { return ssmRows * dState; }

    public int floatsPerLayer() { return convFloats() + ssmFloats(); }

    public int floatsPerKey() { return nLayer * floatsPerLayer(); }

    /** Offset of layer {@code layer}'s conv window within one key's state. */
    public int convOffset(int layer) { return layer * floatsPerLayer(); }

    /** Offset of layer {@code layer}'s ssm state within one key's state. */
    public int ssmOffset(int layer) { return layer * floatsPerLayer() + convFloats(); }

    /** Rows of one key's state, in storage order: per layer the conv rows, then the ssm rows. */
    public int rowsPerKey() { return nLayer * ((dConv - 1) + ssmRows); }

    /** Length of row {@code row} (0 .. rowsPerKey-1); rows are contiguous and in order. */
    public int rowLength(int row) {
        int inLayer = row % ((dConv - 1) + ssmRows);
        return inLayer < dConv - 1 ? convChannels : dState;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StateLayout s && s.nLayer == nLayer && s.dConv == dConv
                && s.convChannels == convChannels && s.ssmRows == ssmRows && s.dState == dState;
    }

    @Override
    public int hashCode() {
        return ((((nLayer * 31) + dConv) * 31 + convChannels) * 31 + ssmRows) * 31 + dState;
    }

    @Override
    public String toString() {
        return "StateLayout{v" + VERSION + ", n_layer=" + nLayer + ", d_conv=" + dConv + ", conv_channels="
                + convChannels + ", ssm_rows=" + ssmRows + ", d_state=" + dState + ", floats/key=" + floatsPerKey() + "}";
    }
}
