package io.flinkmamba.event;

import io.flinkmamba.model.ModelFormatException;
import io.flinkmamba.model.ModelLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EventModelTest {
    private static final EventSchema SCHEMA = new EventSchema(List.of("latency", "bytes"), "kind", List.of("get", "put"));

    @TempDir
    Path dir;

    private static float[] hidden(int d, long seed) {
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        float[] h = new float[d];
        for (int i = 0; i < d; i++) {
            h[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return h;
    }

    @Test
    void writesAndLoadsBackTheSameModel() throws Exception {
        EventModel model = EventModels.random(SCHEMA, new float[] {5f, 100f}, new float[] {2f, 30f}, 16, 2, 4, 3);
        model.write(dir);
        assertTrue(EventModel.isEventModel(dir));
        EventModel loaded = EventModel.load(dir);
        assertEquals(SCHEMA, loaded.schema());
        assertEquals(model.fingerprint(), loaded.fingerprint());
        float[] h = hidden(16, 1);
        assertEquals(model.predict(h), loaded.predict(h));
        EventFields e = new EventFields(SCHEMA);
        e.numeric(0, 6);
        e.numeric(1, 90);
        e.category(1);
        assertEquals(model.score(h, e), loaded.score(h, e), 0.0);
        float[] a = new float[16];
        float[] b = new float[16];
        model.encode(e, a);
        loaded.encode(e, b);
        assertArrayEquals(a, b);
    }

    @Test
    void encodeNormalizesAndAddsTheCategoryEmbedding() {
        EventModel m = EventModels.random(SCHEMA, new float[] {5f, 100f}, new float[] {2f, 30f}, 8, 1, 4, 4);
        EventFields e = new EventFields(SCHEMA);
        e.numeric(0, 9);   // z = 2
        e.numeric(1, 70);  // z = -1
        e.category(1);
        float[] input = new float[8];
        m.encode(e, input);
        for (int j = 0; j < 8; j++) {
            double expected = m.encoderBias()[j] + m.encoderWeight()[j * 2] * 2.0 - m.encoderWeight()[j * 2 + 1]
                    + m.categoryEmbedding()[8 + j];
            assertEquals(expected, input[j], 1e-5);
        }
    }

    @Test
    void scoreIsTheNegativeLogLikelihoodOfThePredictionInRawUnits() {
        EventModel m = EventModels.random(SCHEMA, new float[] {5f, 100f}, new float[] {2f, 30f}, 8, 1, 4, 5);
        float[] h = hidden(8, 2);
        EventPrediction p = m.predict(h);
        EventFields e = new EventFields(SCHEMA);
        e.numeric(0, 4.5);
        e.numeric(1, 123);
        e.category(0);
        double expected = -Math.log(p.categoryProbabilities()[0]);
        for (int i = 0; i < 2; i++) {
            double x = e.numeric()[i];
            double r = (x - p.mean()[i]) / p.std()[i];
            expected += 0.5 * Math.log(2 * Math.PI) + Math.log(p.std()[i]) + 0.5 * r * r;
        }
        assertEquals(expected, m.score(h, e), 1e-4);
        assertEquals(1.0, p.categoryProbabilities()[0] + p.categoryProbabilities()[1], 1e-6);
    }

    @Test
    void improbabilityIsOneMinusTheDensityRatioToTheMostProbableEvent() {
        EventModel m = EventModels.random(SCHEMA, new float[] {5f, 100f}, new float[] {2f, 30f}, 8, 1, 4, 5);
        float[] h = hidden(8, 2);
        EventPrediction p = m.predict(h);
        float[] probabilities = p.categoryProbabilities();
        int likeliest = probabilities[0] >= probabilities[1] ? 0 : 1;
        EventFields e = new EventFields(SCHEMA);
        e.numeric(0, 4.5);
        e.numeric(1, 123);
        e.category(1 - likeliest);
        double excess = Math.log(probabilities[likeliest] / probabilities[1 - likeliest]);
        for (int i = 0; i < 2; i++) {
            double r = (e.numeric()[i] - p.mean()[i]) / p.std()[i];
            excess += 0.5 * r * r;
        }
        assertEquals(1 - Math.exp(-excess), m.improbability(h, e), 1e-5);

        EventFields mode = new EventFields(SCHEMA);
        mode.numeric(0, p.mean()[0]);
        mode.numeric(1, p.mean()[1]);
        mode.category(likeliest);
        assertEquals(0.0, m.improbability(h, mode), 1e-5, "the most probable event is no improbability");
        e.numeric(0, p.mean()[0] + 40 * p.std()[0]);
        assertEquals(1.0, m.improbability(h, e), 1e-12, "bounded however far off");
    }

    @Test
    void rejectsEventsItCannotScore() {
        EventModel m = EventModels.random(SCHEMA, 8, 1, 4, 5);
        EventFields e = new EventFields(SCHEMA);
        e.numeric(0, 1);
        e.category(0);
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> m.score(new float[8], e));
        assertTrue(missing.getMessage().contains("'bytes' is NaN"), missing.getMessage());
        e.numeric(1, 1);
        e.category(2);
        assertThrows(IllegalArgumentException.class, () -> m.encode(e, new float[8]));
    }

    @Test
    void theBackboneFileStaysStrictAndTheJsonMustMatchTheTensors() throws Exception {
        EventModels.random(SCHEMA, 8, 1, 4, 6, dir);
        ModelFormatException plain = assertThrows(ModelFormatException.class, () -> ModelLoader.load(dir));
        assertTrue(plain.getMessage().contains("event.encoder.weight"), plain.getMessage());
        assertEquals(8, ModelLoader.load(dir, java.util.Set.of("event.encoder.weight", "event.encoder.bias",
                "event.category_embedding.weight", "event.gaussian_head.weight", "event.gaussian_head.bias",
                "event.category_head.weight", "event.category_head.bias")).config().dModel());

        Path json = dir.resolve(EventModel.FILE);
        String original = Files.readString(json);
        Files.writeString(json, original.replace("\"event.category_head.bias\"", "\"event.other\""));
        ModelFormatException undeclared = assertThrows(ModelFormatException.class, () -> EventModel.load(dir));
        assertTrue(undeclared.getMessage().contains("event.category_head.bias"), undeclared.getMessage());

        Files.writeString(json, original.replace("\"std\" : 1.0", "\"std\" : 0.0"));
        ModelFormatException zeroStd = assertThrows(ModelFormatException.class, () -> EventModel.load(dir));
        assertTrue(zeroStd.getMessage().contains("std"), zeroStd.getMessage());

        Files.writeString(json, "{ not json");
        assertThrows(ModelFormatException.class, () -> EventModel.load(dir));
    }

    @Test
    void theFingerprintCoversTheEncoder() {
        EventModel a = EventModels.random(SCHEMA, 8, 1, 4, 9);
        EventModel b = EventModels.random(SCHEMA, 8, 1, 4, 9);
        assertEquals(a.fingerprint(), b.fingerprint());
        float[] w = b.encoderWeight().clone();
        w[0] += 1e-3f;
        EventModel c = new EventModel(SCHEMA, b.numericMean(), b.numericStd(), b.backbone(), w, b.encoderBias(),
                b.categoryEmbedding(), b.gaussianWeight(), b.gaussianBias(), b.categoryWeight(), b.categoryBias(), b.inputTransform());
        assertNotEquals(a.fingerprint(), c.fingerprint());
    }

    private static EventModel withTransform(EventModel m, InputTransform transform) {
        return new EventModel(m.schema(), m.numericMean(), m.numericStd(), m.backbone(), m.encoderWeight(),
                m.encoderBias(), m.categoryEmbedding(), m.gaussianWeight(), m.gaussianBias(), m.categoryWeight(),
                m.categoryBias(), transform);
    }

    @Test
    void theInputTransformIsWrittenAndReadBackAndEntersTheFingerprint() throws Exception {
        EventModel plain = EventModels.random(SCHEMA, 8, 1, 4, 7);
        EventModel standardized = withTransform(plain, InputTransform.RUNNING_STANDARDIZED);
        standardized.write(dir);
        assertTrue(Files.readString(dir.resolve(EventModel.FILE)).contains("\"input_transform\" : \"running_standardized\""));
        EventModel loaded = EventModel.load(dir);
        assertEquals(InputTransform.RUNNING_STANDARDIZED, loaded.inputTransform());
        assertEquals(standardized.fingerprint(), loaded.fingerprint());
        assertNotEquals(plain.fingerprint(), standardized.fingerprint());

        plain.write(dir);
        assertEquals(InputTransform.NONE, EventModel.load(dir).inputTransform());
    }

    @Test
    void aFileWithoutTheInputTransformIsReadAsNone() throws Exception {
        EventModel model = withTransform(EventModels.random(SCHEMA, 8, 1, 4, 8), InputTransform.RUNNING_STANDARDIZED);
        model.write(dir);
        Path json = dir.resolve(EventModel.FILE);
        String without = Files.readString(json).replaceAll("\\s*\"input_transform\" : \"running_standardized\",", "");
        assertTrue(!without.contains("input_transform"), without);
        Files.writeString(json, without);
        EventModel loaded = EventModel.load(dir);
        assertEquals(InputTransform.NONE, loaded.inputTransform());
        assertEquals(EventModels.random(SCHEMA, 8, 1, 4, 8).fingerprint(), loaded.fingerprint());
    }

    @Test
    void anUnknownInputTransformIsRefusedNamingTheFileAndTheValue() throws Exception {
        EventModels.random(SCHEMA, 8, 1, 4, 9, dir);
        Path json = dir.resolve(EventModel.FILE);
        Files.writeString(json, Files.readString(json).replace("\"input_transform\" : \"none\"",
                "\"input_transform\" : \"log_scaled\""));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> EventModel.load(dir));
        assertTrue(e.getMessage().contains(json.toString()) && e.getMessage().contains("'log_scaled'")
                && !e.getMessage().contains("\n"), e.getMessage());
    }
}
