package io.flinkmamba.nab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkmamba.event.DefaultEventModel;
import io.flinkmamba.jobs.JobRuns;
import io.flinkmamba.jobs.KafkaTestSupport;
import io.flinkmamba.jobs.anomaly.AnomalyJob;
import io.flinkmamba.jobs.anomaly.AnomalyResult;
import io.flinkmamba.jobs.common.JobConfig;
import io.flinkmamba.nab.NabCorpus.Series;
import io.flinkmamba.testing.SharedData;
import io.flinkmamba.operator.MambaOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code nab} scores the product's own detector: one NAB series through {@code run anomaly}'s job (embedded
 * Kafka in and out, JSON) and through the {@code nab} command's job gives the same anomaly score, model score and
 * likelihood on every row.
 */
class NabThroughAnomalyJobTest {
    private static final String SERIES = "artificialWithAnomaly/art_daily_jumpsdown.csv";

    @RegisterExtension
    static final KafkaTestSupport KAFKA = new KafkaTestSupport();

    @TempDir
    Path tmp;

    @Test
    void theAnomalyJobAndNabScoreASeriesIdentically() throws Exception {
        NabCorpus corpus = NabCorpus.load(SharedData.require("nab")).subset(List.of(SERIES));
        Series series = corpus.series().get(0);
        Path model = DefaultEventModel.materialize(); // standardized input, the detector's every stage in use

        Configuration detector = new Configuration();
        detector.set(MambaOptions.MODEL_DIR, model.toString());
        AnomalyResult[] viaNab = NabJob.run(corpus, new int[] {0}, List.of(detector), 2).get(SERIES);

        String topics = KAFKA.topics("nab-identity", 1);
        List<String[]> records = new ArrayList<>();
        for (int r = 0; r < series.size(); r++) {
            long ts = series.timestamps()[r].toInstant(ZoneOffset.UTC).toEpochMilli();
            records.add(new String[] {SERIES, String.format(Locale.ROOT, "{\"series\":\"%s\",\"ts\":%d,\"value\":%s}",
                    SERIES, ts, Double.toString(series.values()[r]))});
        }
        KAFKA.produce(topics + "-in", records);
        JobConfig config = AnomalyJob.configure(JobRuns.with(JobRuns.settings(KAFKA, topics, model),
                "mapping.key-field", "series", "mapping.timestamp-field", "ts", "mapping.numeric-fields", "value"));
        StreamExecutionEnvironment env = JobRuns.environment(config, tmp.resolve("checkpoints"), 0);
        AnomalyJob.build(env, config, events -> events);
        env.execute();

        List<ConsumerRecord<String, String>> out = KAFKA.consume(topics + "-out", rs -> rs.size() >= series.size(),
                java.time.Duration.ofSeconds(60));
        assertEquals(series.size(), out.size(), "one result per row");
        ObjectMapper json = new ObjectMapper();
        Map<Long, JsonNode> byTimestamp = new HashMap<>();
        for (ConsumerRecord<String, String> record : out) {
            JsonNode node = json.readTree(record.value());
            byTimestamp.put(node.get("timestamp").asLong(), node);
        }
        int flagged = 0;
        int seasonal = 0;
        for (int r = 0; r < series.size(); r++) {
            long ts = series.timestamps()[r].toInstant(ZoneOffset.UTC).toEpochMilli();
            JsonNode viaKafka = byTimestamp.get(ts);
            AnomalyResult expected = viaNab[r];
            assertEquals(expected.anomalyScore, viaKafka.get("anomaly_score").asDouble(), "anomaly score, row " + r);
            assertEquals(expected.anomaly, viaKafka.get("anomaly").asBoolean(), "flag, row " + r);
            assertEquals(number(expected.score), number(viaKafka.get("score")), "score, row " + r);
            assertEquals(number(expected.likelihood), number(viaKafka.get("likelihood")), "likelihood, row " + r);
            flagged += expected.anomaly ? 1 : 0;
            seasonal += Double.isFinite(expected.seasonalResidual) ? 1 : 0;
        }
        assertTrue(flagged > 0 && flagged < series.size() / 20, "a few rows flagged: " + flagged);
        assertTrue(seasonal > series.size() / 2, "the seasonal residual took part: " + seasonal);
    }

    private static String number(double value) {
        return Double.isFinite(value) ? Double.toString(value) : "null";
    }

    private static String number(JsonNode node) {
        return node.isNull() ? "null" : Double.toString(node.asDouble());
    }
}
