package io.flinkmamba.jobs.anomaly;

import io.flinkmamba.event.SeriesFeatures;
import io.flinkmamba.jobs.common.SourceEvent;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The first stage of the Mamba detector, per key in arrival order: each numeric field's running
 * standardization ({@link SeriesFeatures}: what the model takes when its input transform says so), the spatial
 * check over the fields and the seasonal residual of each field ({@link SeasonalResidual}), the largest in
 * magnitude kept. State per key: one array (per field the features' state, then the residual's), and the past
 * values the residuals need in a map state by (row, field), so that an event reads only those.
 */
final class DetectorInputs extends KeyedProcessFunction<String, SourceEvent, DetectorEvent> {
    private static final int PER_FIELD = SeriesFeatures.STATE_SIZE + SeasonalResidual.STATE_SIZE;

    private final int fields;
    private final boolean standardize;
    private final DetectorSettings settings;
    private transient ValueState<double[]> state;
    private transient MapState<Long, Double> values;
    /** Per field, its view of the map state (the key is the function's current one). */
    private transient History[] histories;

    DetectorInputs(int fields, boolean standardize, DetectorSettings settings) {
        this.fields = fields;
        this.standardize = standardize;
        this.settings = settings;
    }

    @Override
    public void open(OpenContext context) {
        state = getRuntimeContext().getState(new ValueStateDescriptor<>("anomaly-detector-inputs",
                PrimitiveArrayTypeInfo.DOUBLE_PRIMITIVE_ARRAY_TYPE_INFO));
        values = getRuntimeContext().getMapState(
                new MapStateDescriptor<>("anomaly-seasonal-history", Types.LONG, Types.DOUBLE));
        histories = new History[fields];
        for (int f = 0; f < fields; f++) {
            histories[f] = new History(f);
        }
    }

    @Override
    public void processElement(SourceEvent event, Context context, Collector<DetectorEvent> out) throws Exception {
        double[] s = state.value();
        if (s == null) {
            s = new double[fields * PER_FIELD];
        }
        DetectorEvent e = new DetectorEvent();
        e.event = event;
        e.modelInput = standardize ? new double[fields] : event.numeric;
        if (standardize) {
            e.runningMean = new double[fields];
            e.runningStd = new double[fields];
        }
        for (int f = 0; f < fields; f++) {
            int at = f * PER_FIELD;
            double value = event.numeric[f];
            SeriesFeatures.Step step = SeriesFeatures.next(s, at, value, settings.spatialTolerance());
            e.spatialAnomaly |= step.spatialAnomaly();
            if (standardize) {
                e.modelInput[f] = step.normalized();
                e.runningMean[f] = SeriesFeatures.mean(s, at);
                e.runningStd[f] = SeriesFeatures.std(s, at);
            }
            if (settings.seasonal() != null) {
                double residual = settings.seasonal().next(s, at + SeriesFeatures.STATE_SIZE, histories[f],
                        event.timestamp, value, step.scale());
                if (!Double.isNaN(residual)
                        && (Double.isNaN(e.seasonalResidual) || Math.abs(residual) > Math.abs(e.seasonalResidual))) {
                    e.seasonalResidual = residual;
                }
            }
        }
        state.update(s);
        out.collect(e);
    }

    /** Field {@code field}'s past values: entry {@code row * fields + field} of the map state. */
    private final class History implements SeasonalResidual.History {
        private final int field;

        History(int field) {
            this.field = field;
        }

        private long entry(long row) {
            return row * fields + field;
        }

        @Override
        public double get(long row) throws Exception {
            return values.get(entry(row));
        }

        @Override
        public void put(long row, double value) throws Exception {
            values.put(entry(row), value);
        }

        @Override
        public void remove(long row) throws Exception {
            values.remove(entry(row));
        }

        @Override
        public void clear() throws Exception {
            if (fields == 1) {
                values.clear();
                return;
            }
            List<Long> own = new ArrayList<>();
            for (Iterator<Long> it = values.keys().iterator(); it.hasNext(); ) {
                long key = it.next();
                if (Math.floorMod(key, fields) == field) {
                    own.add(key);
                }
            }
            for (long key : own) {
                values.remove(key);
            }
        }
    }
}
