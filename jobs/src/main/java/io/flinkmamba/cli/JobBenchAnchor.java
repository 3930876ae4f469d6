package io.flinkmamba.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flinkmamba.event.AnomalyLikelihood;
import io.flinkmamba.event.EventModel;
import io.flinkmamba.event.EventSchema;
import io.flinkmamba.jobs.common.EventMapping;
import io.flinkmamba.jobs.common.JobConfig;
import io.flinkmamba.jobs.common.KafkaPipeline;
import io.flinkmamba.jobs.common.OutputRecord;
import io.flinkmamba.jobs.common.SourceEvent;
import io.flinkmamba.jobs.common.SourceEvents;
import io.flinkmamba.model.ConfigParser;
import io.flinkmamba.model.MambaConfig;
import io.flinkmamba.operator.MambaOperatorBuilder;
import io.flinkmamba.operator.StoredKeyState;
import io.flinkmamba.operator.StoredKeyStateSerializer;
import io.flinkmamba.state.StateCodec;
import io.flinkmamba.state.StateLayout;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * The anchor of {@code bench job}: the real job's plumbing without its model. The same Kafka source, parsing
 * ({@link KafkaPipeline#events}, the job's {@link EventMapping}), keyBy and exactly-once sinks; in place of
 * the Mamba operator a {@link KeyedProcessFunction} that reads each event's key state (a {@code byte[]} the
 * size of the operator's stored state), changes a few bytes, writes it back and emits one JSON result of
 * about the real job's result size. What the real job takes beyond it is the model, the event-time hold and
 * the operator's own bookkeeping.
 */
final class JobBenchAnchor {
    private JobBenchAnchor() {}

    /** Builds the anchor job into {@code env}. */
    static void build(StreamExecutionEnvironment env, JobConfig config, EventSchema schema, int stateBytes,
                      int resultBytes) {
        EventMapping mapping = EventMapping.from(config, schema.numericFields(), schema.categoricalField(),
                schema.categories());
        KafkaPipeline pipeline = new KafkaPipeline(env, config);
        DataStream<OutputRecord> results = pipeline.events(mapping)
                .keyBy(event -> event.key)
                .process(new StateTouch(stateBytes, resultBytes), TypeInformation.of(OutputRecord.class))
                .uid("anchor").name("anchor");
        pipeline.results(results);
        pipeline.finish();
    }

    /**
     * The bytes of one key's value in the Mamba operator's keyed state once it has seen an event (header,
     * last hidden vector, the state in the configured codec, the anomaly likelihood's state), as
     * {@link StoredKeyStateSerializer} writes it: what RocksDB reads and writes per key.
     */
    static int storedStateBytes(JobConfig config) throws IOException {
        Path dir = config.modelDir();
        boolean eventModel = EventModel.isEventModel(dir);
        MambaConfig model = eventModel ? EventModel.load(dir).backbone().config()
                : ConfigParser.read(dir.resolve("config.json"));
        StateCodec codec = MambaOperatorBuilder.forModel(dir).configure(config.configuration()).settings().stateCodec();
        // The jobs' operators keep the builder's default likelihood (event models only).
        int likelihood = eventModel ? AnomalyLikelihood.withDefaults().stateSize() : 0;
        StoredKeyState sample = new StoredKeyState(StateLayout.VERSION, 0L, codec.id(), 1, 0L,
                new float[model.dModel()], new byte[codec.encodedSize(model.stateLayout())], new double[likelihood]);
        DataOutputSerializer out = new DataOutputSerializer(256);
        StoredKeyStateSerializer.INSTANCE.serialize(sample, out);
        return out.length();
    }

    /** Reads, touches and writes back the key's state bytes; emits a result of about {@code resultBytes}. */
    static final class StateTouch extends KeyedProcessFunction<String, SourceEvent, OutputRecord> {
        private final int stateBytes;
        private final int resultBytes;
        private transient ValueState<byte[]> state;
        private transient ObjectMapper json;
        private transient String padding;

        StateTouch(int stateBytes, int resultBytes) {
            this.stateBytes = Math.max(Long.BYTES + 1, stateBytes);
            this.resultBytes = resultBytes;
        }

        @Override
        public void open(OpenContext context) {
            state = getRuntimeContext().getState(new ValueStateDescriptor<>("anchor-state",
                    PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
            json = new ObjectMapper();
        }

        @Override
        public void processElement(SourceEvent event, Context context, Collector<OutputRecord> out) throws IOException {
            byte[] bytes = state.value();
            if (bytes == null) {
                bytes = new byte[stateBytes];
            }
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            long seen = buffer.getLong(0) + 1;
            buffer.putLong(0, seen);
            // A few bytes spread over the state change, as a model step changes it (the hash keeps it cheap).
            int spread = stateBytes - Long.BYTES;
            for (int i = 0; i < 4; i++) {
                bytes[Long.BYTES + (int) Math.floorMod(OperatorBenchCommand.mix(seen * 4 + i), (long) spread)] ^= 1;
            }
            state.update(bytes);

            ObjectNode node = json.createObjectNode();
            SourceEvents.putIdentity(node, event);
            node.put("events_seen", seen);
            if (padding == null) {
                // Sized on the first result: `,"padding":""` is 14 characters.
                padding = "x".repeat(Math.max(0, resultBytes - node.toString().length() - 14));
            }
            node.put("padding", padding);
            out.collect(new OutputRecord(event.key, node.toString(), event.timestamp));
        }
    }
}
