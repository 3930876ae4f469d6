package io.flinkmamba.jobs.common;

import io.flinkmamba.jobs.anomaly.AnomalyJob;
import io.flinkmamba.jobs.anomaly.AnomalyOptions;
import io.flinkmamba.jobs.session.SessionJob;
import io.flinkmamba.jobs.session.SessionOptions;
import org.apache.flink.configuration.ConfigOption;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** docs/configuration.md must be exactly what {@link ConfigurationDocs} renders from the ConfigOptions. */
class ConfigurationDocsTest {

    @Test
    void documentMatchesTheOptions() throws Exception {
        Path document = ConfigurationDocs.documentPath();
        if (Boolean.getBoolean("docs.update")) {
            ConfigurationDocs.write(document);
        }
        assertTrue(Files.exists(document), document + " is missing; generate it with: " + ConfigurationDocs.REGENERATE);
        String difference = firstDifference(ConfigurationDocs.render(), Files.readString(document, StandardCharsets.UTF_8));
        assertNull(difference, () -> "docs/configuration.md disagrees with the ConfigOptions (" + difference
                + "); regenerate it with: " + ConfigurationDocs.REGENERATE);
    }

    /** The first line where the two texts differ, or null when they are equal. */
    static String firstDifference(String expected, String actual) {
        List<String> want = expected.lines().toList();
        List<String> have = actual.lines().toList();
        for (int i = 0; i < Math.max(want.size(), have.size()); i++) {
            String wanted = i < want.size() ? want.get(i) : "(end of file)";
            String found = i < have.size() ? have.get(i) : "(end of file)";
            if (!wanted.equals(found)) {
                return "line " + (i + 1) + ": expected '" + wanted + "' but the file has '" + found + "'";
            }
        }
        return expected.equals(actual) ? null : "line endings differ";
    }

    @Test
    void firstDifferenceNamesTheLine() {
        assertNull(firstDifference("a\nb\n", "a\nb\n"));
        assertEquals("line 2: expected 'b' but the file has 'c'", firstDifference("a\nb\n", "a\nc\n"));
        assertEquals("line 3: expected 'd' but the file has '(end of file)'", firstDifference("a\nb\nd\n", "a\nb\n"));
    }

    @Test
    void everyOptionHasARowWithItsTypeAndDefault() {
        String document = ConfigurationDocs.render();
        List<ConfigOption<?>> options = new ArrayList<>(JobConfig.mambaOptions());
        options.addAll(JobOptions.all());
        options.addAll(AnomalyJob.options());
        options.addAll(SessionJob.options());
        for (ConfigOption<?> option : options) {
            assertTrue(document.contains("| `" + option.key() + "` | "), option.key() + " has no row");
        }
        assertTrue(document.contains("| `mamba.bundle.max-delay` | Duration | 100 ms | "), document);
        assertTrue(document.contains("| `mamba.state.on-model-mismatch` | enum (RESET, FAIL) | RESET | "), document);
        assertTrue(document.contains("| `mapping.numeric-fields` | list of String | (none) | "), document);
        assertTrue(document.contains("| `kafka.starting-offsets` | String | committed-or-earliest | "), document);
    }

    /** An option declared but missing from its class's list would be unknown to the job and to the reference. */
    @Test
    void everyDeclaredJobOptionIsListed() {
        assertListsEveryField(JobOptions.class, JobOptions.all());
        assertListsEveryField(AnomalyOptions.class, AnomalyJob.options());
        assertListsEveryField(SessionOptions.class, SessionJob.options());
    }

    private static void assertListsEveryField(Class<?> holder, List<ConfigOption<?>> listed) {
        for (Field field : holder.getFields()) {
            if (Modifier.isStatic(field.getModifiers()) && field.getType() == ConfigOption.class) {
                try {
                    assertTrue(listed.contains(field.get(null)),
                            holder.getSimpleName() + "." + field.getName() + " is not in the job's option list");
                } catch (IllegalAccessException e) {
                    throw new AssertionError(e);
                }
            }
        }
    }
}
