package io.flinkmamba.jobs.common;

import io.flinkmamba.jobs.anomaly.AnomalyJob;
import io.flinkmamba.jobs.session.SessionJob;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.description.Formatter;
import org.apache.flink.configuration.description.TextElement;
import org.apache.flink.util.TimeUtils;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Writes {@code docs/configuration.md} from the {@link ConfigOption}s themselves: the operator's
 * ({@code MambaOptions}, every public option field), the settings both Kafka jobs share ({@link JobOptions#all()})
 * and each job's own ({@code options()} of the job class), so the reference cannot disagree with the code.
 * {@code ConfigurationDocsTest} compares the file with this rendering.
 */
public final class ConfigurationDocs {
    static final String REGENERATE = "mvn -B -q -ntp -pl jobs -am test -Dtest=ConfigurationDocsTest "
            + "-Dsurefire.failIfNoSpecifiedTests=false -Ddocs.update=true";

    /** One table of the reference: a heading, what the settings are for, and the options in table order. */
    record Section(String heading, String intro, List<ConfigOption<?>> options) {}

    private ConfigurationDocs() {}

    /** Every section, in document order; a new job adds its {@code options()} here. */
    static List<Section> sections() {
        List<ConfigOption<?>> operator = JobConfig.mambaOptions().stream()
                .sorted(Comparator.comparing(ConfigOption::key)).collect(Collectors.toList());
        return List.of(
                new Section("Operator (`mamba.*`)",
                        "Read by `MambaOperatorBuilder.configure(config)` (a builder method given explicitly wins), "
                                + "and by both Kafka jobs from their YAML file.",
                        operator),
                new Section("Kafka jobs: shared settings",
                        "Both `run anomaly` and `run session`. Required: `kafka.bootstrap-servers`, the three "
                                + "topics (distinct), `mapping.key-field`, `mapping.timestamp-field` and "
                                + "`mamba.model-dir`. Every key under `kafka.properties.` is passed to every Kafka "
                                + "client as it is (`security.protocol`, `sasl.*`, `ssl.*`, ...). Both jobs always "
                                + "step each key's events in event-time order (`mamba.event-time-ordering` on).",
                        JobOptions.all()),
                new Section("Anomaly job (`run anomaly`)",
                        "`mapping.numeric-fields` is required.",
                        AnomalyJob.options()),
                new Section("Session job (`run session`)",
                        "`mapping.categorical-field` and `mamba.session.gap` are required; `mapping.categories` "
                                + "is required for a token model.",
                        SessionJob.options()));
    }

    /** The whole document. */
    static String render() {
        StringBuilder doc = new StringBuilder();
        doc.append("# Configuration reference\n\n")
                .append("<!-- Generated from the ConfigOptions by io.flinkmamba.jobs.common.ConfigurationDocs ")
                .append("(jobs module, test scope). Do not edit; regenerate with:\n     ")
                .append(REGENERATE).append(" -->\n\n")
                .append("A job's YAML file nests keys (`kafka: {input-topic: x}` is `kafka.input-topic`); ")
                .append("`--set KEY=VALUE` overrides one setting, lists as `a;b`. Durations take a unit ")
                .append("(`100ms`, `10s`, `1min`, `7d`). Unknown keys, values that do not parse and missing ")
                .append("required settings are all reported at startup, one line each. See [jobs.md](jobs.md) ")
                .append("and [operator.md](operator.md).\n");
        for (Section section : sections()) {
            doc.append("\n## ").append(section.heading()).append("\n\n")
                    .append(section.intro()).append("\n\n")
                    .append("| key | type | default | description |\n")
                    .append("| --- | --- | --- | --- |\n");
            for (ConfigOption<?> option : section.options()) {
                doc.append("| `").append(option.key()).append("` | ")
                        .append(type(option)).append(" | ")
                        .append(cell(defaultValue(option))).append(" | ")
                        .append(cell(new MarkdownFormatter().format(option.description()))).append(" |\n");
            }
        }
        return doc.toString();
    }

    static String defaultValue(ConfigOption<?> option) {
        if (!option.hasDefaultValue()) {
            return "(none)";
        }
        Object value = option.defaultValue();
        if (value instanceof Duration duration) {
            return TimeUtils.formatWithHighestUnit(duration);
        }
        if (value instanceof List<?> list) {
            return list.stream().map(String::valueOf).collect(Collectors.joining(";"));
        }
        return String.valueOf(value);
    }

    /** The option's value type; Flink keeps it package-private, so it is read reflectively. */
    static String type(ConfigOption<?> option) {
        try {
            Method clazz = ConfigOption.class.getDeclaredMethod("getClazz");
            Method isList = ConfigOption.class.getDeclaredMethod("isList");
            clazz.setAccessible(true);
            isList.setAccessible(true);
            Class<?> type = (Class<?>) clazz.invoke(option);
            String name = type.isEnum()
                    ? "enum (" + Arrays.stream(type.getEnumConstants()).map(String::valueOf)
                            .collect(Collectors.joining(", ")) + ")"
                    : type.getSimpleName();
            return (Boolean) isList.invoke(option) ? "list of " + name : name;
        } catch (NoSuchMethodException | IllegalAccessException | InvocationTargetException e) {
            throw new IllegalStateException("cannot read the type of option " + option.key() + ": " + e, e);
        }
    }

    private static String cell(String text) {
        return text.replace("|", "\\|").replace("\n", " ");
    }

    /** Flink's description elements as Markdown (Flink ships only an HTML formatter). */
    static final class MarkdownFormatter extends Formatter {
        @Override
        protected void formatLink(StringBuilder state, String link, String description) {
            state.append('[').append(description).append("](").append(link).append(')');
        }

        @Override
        protected void formatLineBreak(StringBuilder state) {
            state.append("<br>");
        }

        @Override
        protected void formatText(StringBuilder state, String format, String[] elements,
                                  EnumSet<TextElement.TextStyle> styles) {
            boolean code = styles.contains(TextElement.TextStyle.CODE);
            state.append(code ? "`" : "").append(String.format(format, (Object[]) elements)).append(code ? "`" : "");
        }

        @Override
        protected void formatList(StringBuilder state, String[] entries) {
            state.append(String.join("; ", entries));
        }

        @Override
        protected Formatter newInstance() {
            return new MarkdownFormatter();
        }
    }

    /** The reference's place in the source tree, from the jobs module's folder (Surefire's working folder). */
    static Path documentPath() {
        return Path.of(System.getProperty("basedir", ".")).toAbsolutePath().resolve("../docs/configuration.md")
                .normalize();
    }

    /** Writes the reference; {@code ConfigurationDocsTest} calls this with {@code -Ddocs.update=true}. */
    static void write(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, render(), StandardCharsets.UTF_8);
    }
}
