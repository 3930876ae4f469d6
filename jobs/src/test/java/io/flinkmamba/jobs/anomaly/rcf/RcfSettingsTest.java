package io.flinkmamba.jobs.anomaly.rcf;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RcfSettingsTest {
    @Test
    void theDefaultsAreNabsPublishedRandomCutForestSettings() {
        RcfSettings defaults = RcfSettings.from(new Configuration());
        assertEquals(new RcfSettings(100, 256, 1, 1e-5, 64, 42, 8.0, 0.4539, 64), defaults);
        assertEquals(defaults, RcfSettings.defaults());
        // NAB's SQL divides the raw score by 8.0 = log2(256).
        assertEquals(0.5, defaults.anomalyScore(4.0), 1e-15);
        assertEquals(1.0, defaults.anomalyScore(8.0064), 0.0);
    }

    @Test
    void configuredValuesOverrideTheDefaultsAndDerivedOnesFollowTheSampleSize() {
        Configuration config = new Configuration();
        config.set(RcfOptions.TREES, 30);
        config.set(RcfOptions.SAMPLE_SIZE, 1024);
        config.set(RcfOptions.SHINGLE_SIZE, 4);
        config.set(RcfOptions.TIME_DECAY, 0.001);
        config.set(RcfOptions.SEED, 7L);
        config.set(RcfOptions.THRESHOLD, 0.6);
        config.set(RcfOptions.CACHE_KEYS, 0);
        assertEquals(new RcfSettings(30, 1024, 4, 0.001, 256, 7, 10.0, 0.6, 0), RcfSettings.from(config));

        config.set(RcfOptions.OUTPUT_AFTER, 10);
        config.set(RcfOptions.SCORE_SCALE, 5.0);
        RcfSettings explicit = RcfSettings.from(config);
        assertEquals(10, explicit.outputAfter());
        assertEquals(5.0, explicit.scoreScale());
        assertEquals(0.4, explicit.anomalyScore(2.0), 1e-15);
    }

    @Test
    void everyOptionIsUnderRcfWithADescription() {
        Map<String, String> descriptions = RcfOptions.all().stream()
                .collect(Collectors.toMap(ConfigOption::key, o -> o.description().toString()));
        assertEquals(9, descriptions.size());
        descriptions.forEach((key, description) -> {
            assertEquals("rcf.", key.substring(0, 4), key);
            assertFalse(description.isBlank(), key);
        });
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "rcf.trees         | 0    | rcf.trees must be at least 1, got 0",
            "rcf.sample-size   | 1    | rcf.sample-size must be at least 2, got 1",
            "rcf.shingle-size  | 0    | rcf.shingle-size must be at least 1, got 0",
            "rcf.time-decay    | -0.1 | rcf.time-decay must be a finite number >= 0, got -0.1",
            "rcf.time-decay    | NaN  | rcf.time-decay must be a finite number >= 0, got NaN",
            "rcf.output-after  | 0    | rcf.output-after must be at least 1, got 0",
            "rcf.score-scale   | 0    | rcf.score-scale must be a finite number > 0, got 0.0",
            "rcf.threshold     | 0    | rcf.threshold must be in (0, 1], got 0.0",
            "rcf.threshold     | 1.5  | rcf.threshold must be in (0, 1], got 1.5",
            "rcf.cache-keys    | -1   | rcf.cache-keys must be at least 0, got -1",
    })
    void badSettingsGiveOneLineMessages(String key, String value, String message) {
        Configuration config = Configuration.fromMap(Map.of(key, value));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RcfSettings.from(config));
        assertEquals(message, e.getMessage());
    }
}
