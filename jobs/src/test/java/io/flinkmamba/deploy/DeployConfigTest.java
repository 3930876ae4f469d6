package io.flinkmamba.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.flinkmamba.jobs.anomaly.AnomalyJob;
import io.flinkmamba.jobs.common.ConfigException;
import io.flinkmamba.jobs.common.JobConfig;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.ExternalResourceOptions;
import org.apache.flink.configuration.HighAvailabilityOptions;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.state.rocksdb.RocksDBOptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What can be checked of deploy/ without Docker or Kubernetes: every YAML file parses; every Flink key is
 * one that Flink 2.2.1 defines (its primary, not deprecated, name); the FlinkDeployments have the image,
 * jar, upgrade mode, parallelism, state backend and GPU settings the job needs; the Dockerfile builds on
 * the official image and puts the jar and JCuda where the configuration expects them.
 */
class DeployConfigTest {

    static final Path DEPLOY = Path.of("..", "deploy");
    static final String JAR_URI = "local:///opt/flink/usrlib/flink-mamba.jar";
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    /** Keys of the Flink 2.x option classes these files may use. */
    static final List<Class<?>> OPTION_CLASSES = List.of(CheckpointingOptions.class, StateBackendOptions.class,
            CoreOptions.class, RestartStrategyOptions.class, TaskManagerOptions.class, JobManagerOptions.class,
            HighAvailabilityOptions.class, RocksDBOptions.class);

    /**
     * External resource keys are templates: external-resource.&lt;name&gt;.{amount, driver-factory.class,
     * param.*} (ExternalResourceOptions) and kubernetes.config-key (flink-kubernetes, not on this classpath;
     * named in Flink's external resource documentation).
     */
    static final Pattern EXTERNAL_RESOURCE_KEY =
            Pattern.compile("external-resource\\.([a-z]+)\\.(amount|driver-factory\\.class|kubernetes\\.config-key|param\\..+)");

    @Test
    void everyYamlFileParses() throws IOException {
        List<Path> files = yamlFiles();
        assertTrue(files.size() >= 4, "deploy/ has config.yaml, two FlinkDeployments and the job settings: " + files);
        for (Path file : files) {
            assertFalse(documents(file).isEmpty(), file + " has no YAML document");
        }
    }

    @Test
    void flinkConfigurationForGpuTaskManagers() throws IOException {
        JsonNode conf = single(DEPLOY.resolve("conf/config.yaml"));
        assertKnownFlinkKeys(conf, "conf/config.yaml");
        assertStateAndCheckpoints(conf, "conf/config.yaml");
        assertGpuResource(conf, "conf/config.yaml");
        assertEquals("--enable-coordination-mode",
                text(conf, "external-resource.gpu.param.discovery-script.args"),
                "TaskManagers sharing a host take distinct GPUs");
        assertEquals("1", text(conf, "taskmanager.numberOfTaskSlots"), "one slot per GPU TaskManager");
    }

    @Test
    void gpuDeployment() throws IOException {
        JsonNode deployment = deployment("anomaly-gpu.yaml");
        JsonNode conf = deployment.path("spec").path("flinkConfiguration");
        assertCommonDeployment(deployment, "anomaly-gpu.yaml");
        assertGpuResource(conf, "anomaly-gpu.yaml");

        JsonNode image = single(DEPLOY.resolve("conf/config.yaml"));
        for (String key : List.of("state.backend.type", "execution.checkpointing.incremental", "external-resources",
                "external-resource.gpu.amount", "external-resource.gpu.driver-factory.class",
                "external-resource.gpu.param.discovery-script.path", "external-resource.gpu.kubernetes.config-key",
                "classloader.parent-first-patterns.additional", "env.java.opts.all",
                "execution.checkpointing.dir", "execution.checkpointing.savepoint-dir",
                "taskmanager.numberOfTaskSlots")) {
            assertEquals(text(image, key), text(conf, key), key + ": the deployment and the image's config.yaml differ");
        }

        JsonNode tmContainer = mainContainer(deployment.path("spec").path("taskManager").path("podTemplate"));
        assertNotNull(tmContainer, "the TaskManager pod template has the flink-main-container");
        assertEquals(text(conf, "external-resource.gpu.amount"),
                tmContainer.path("resources").path("limits").path("nvidia.com/gpu").asText(),
                "TaskManager GPU limit = external-resource.gpu.amount");
        assertFalse(deployment.path("spec").path("jobManager").toString().contains("nvidia.com/gpu"),
                "the JobManager needs no GPU");
        assertEquals("cuda", jobSettings(deployment, "anomaly-gpu.yaml").get("mamba.engine"), "the GPU deployment runs the CUDA engine");
    }

    @Test
    void cpuDeployment() throws IOException {
        JsonNode deployment = deployment("anomaly-cpu.yaml");
        assertCommonDeployment(deployment, "anomaly-cpu.yaml");
        JsonNode conf = deployment.path("spec").path("flinkConfiguration");
        assertTrue(conf.path("external-resources").isMissingNode(), "a CPU-only deployment asks for no GPU");
        assertFalse(deployment.toString().contains("nvidia.com/gpu"), "a CPU-only deployment asks for no GPU");
        assertEquals("cpu", jobSettings(deployment, "anomaly-cpu.yaml").get("mamba.engine"), "the CPU deployment runs the CPU engine");
    }

    @Test
    void dockerfile() throws IOException, URISyntaxException {
        String dockerfile = Files.readString(DEPLOY.resolve("Dockerfile"));
        List<String> from = dockerfile.lines().filter(l -> l.startsWith("FROM ")).toList();
        assertEquals(List.of("FROM flink:2.2.1-java17"), from, "one stage, on the official Flink image");
        assertTrue(dockerfile.contains("COPY --chown=flink:flink jobs/target/flink-mamba.jar /opt/flink/usrlib/flink-mamba.jar"),
                "the job jar goes where the deployments' jarURI points: " + JAR_URI);
        assertTrue(dockerfile.contains("deploy/conf/config.yaml /opt/flink/conf/config.yaml"), "the Flink configuration");
        List<String> instructions = dockerfile.lines().filter(l -> !l.strip().startsWith("#")).toList();
        assertTrue(instructions.stream().noneMatch(l -> l.toLowerCase().matches(".*(apt-get|yum|nvidia/cuda|cuda-toolkit|nvcc).*")),
                "no CUDA toolkit in the image");

        // The JCuda jars the Dockerfile copies are the ones Maven resolves (and copies to docker-lib).
        String jcudaJar = Path.of(jcuda.LibUtils.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .getFileName().toString();
        String jcudaVersion = jcudaJar.replaceAll("^jcuda-(.+)\\.jar$", "$1");
        String nativeLibrary = "lib/libJCudaDriver-" + jcudaVersion + "-linux-x86_64.so";
        String nativesJar = "jcuda-natives-" + jcudaVersion + "-linux-x86_64.jar";
        assertTrue(getClass().getClassLoader().getResource(nativeLibrary).toString().contains(nativesJar),
                nativeLibrary + " comes from " + nativesJar);
        Matcher copy = Pattern.compile("COPY --chown=flink:flink jobs/target/docker-lib/(\\S+) \\\\\\s+"
                + "jobs/target/docker-lib/(\\S+) /opt/flink/lib/").matcher(dockerfile);
        assertTrue(copy.find(), "JCuda's jars go to /opt/flink/lib");
        assertEquals(List.of(jcudaJar, nativesJar), List.of(copy.group(1), copy.group(2)));
        assertTrue(dockerfile.contains("plugins/external-resource-gpu/nvidia-gpu-discovery.sh"),
                "the build checks the GPU plugin's discovery script the configuration names");
    }

    // ---------------------------------------------------------------------------------------------

    static void assertCommonDeployment(JsonNode deployment, String file) {
        assertEquals("flink.apache.org/v1beta1", deployment.path("apiVersion").asText(), file);
        JsonNode spec = deployment.path("spec");
        assertEquals("flink-mamba:0.1.0", spec.path("image").asText(), file + ": the image from deploy/Dockerfile");
        assertEquals("v2_2", spec.path("flinkVersion").asText(), file);
        JsonNode job = spec.path("job");
        assertEquals(JAR_URI, job.path("jarURI").asText(), file);
        assertEquals("savepoint", job.path("upgradeMode").asText(), file + ": upgrades through a savepoint");
        assertEquals("running", job.path("state").asText(), file);
        assertTrue(job.path("parallelism").asInt() >= 1, file + ": parallelism");
        assertEquals("io.flinkmamba.cli.ApplicationMode", job.path("entryClass").asText(), file + ": no System.exit in the JobManager");
        try {
            Class.forName(job.path("entryClass").asText()).getMethod("main", String[].class);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(file + ": entryClass has no main method", e);
        }
        assertEquals("run", job.path("args").path(0).asText(), file + ": the tool's run command");
        assertEquals("anomaly", job.path("args").path(1).asText(), file + ": the anomaly job");

        JsonNode conf = spec.path("flinkConfiguration");
        assertKnownFlinkKeys(conf, file);
        assertStateAndCheckpoints(conf, file);
        assertTrue(text(conf, "env.java.opts.all").contains("--add-modules jdk.incubator.vector"), file);
        assertFalse(text(conf, "high-availability.storageDir").isEmpty(), file + ": HA metadata for job recovery");

        // Checkpoints, savepoints and the job's configuration lie on volumes mounted into the pods.
        JsonNode container = mainContainer(spec.path("podTemplate"));
        assertNotNull(container, file + ": the pod template has the flink-main-container");
        List<String> mounts = new ArrayList<>();
        container.path("volumeMounts").forEach(m -> mounts.add(m.path("mountPath").asText()));
        for (String path : List.of(text(conf, "execution.checkpointing.dir").replaceFirst("^file://", ""),
                text(conf, "execution.checkpointing.savepoint-dir").replaceFirst("^file://", ""),
                text(conf, "high-availability.storageDir").replaceFirst("^file://", ""),
                job.path("args").path(3).asText())) {
            assertTrue(mounts.stream().anyMatch(path::startsWith), file + ": " + path + " is on a mounted volume " + mounts);
        }
    }

    /**
     * The job settings the deployment mounts (a ConfigMap of anomaly-job-config.yaml at the --config path),
     * validated by the anomaly job's own configuration: every problem but the model folder, which exists only
     * in the cluster, fails the test. The job's parallelism equals the deployment's.
     */
    static Map<String, String> jobSettings(JsonNode deployment, String file) throws IOException {
        JsonNode spec = deployment.path("spec");
        String configPath = spec.path("job").path("args").path(3).asText();
        String mountPath = configPath.substring(0, configPath.lastIndexOf('/'));
        String volume = null;
        for (JsonNode mount : mainContainer(spec.path("podTemplate")).path("volumeMounts")) {
            if (mount.path("mountPath").asText().equals(mountPath)) {
                volume = mount.path("name").asText();
            }
        }
        String configMap = null;
        for (JsonNode v : spec.path("podTemplate").path("spec").path("volumes")) {
            if (v.path("name").asText().equals(volume)) {
                configMap = v.path("configMap").path("name").asText();
            }
        }
        assertNotNull(configMap, file + ": " + mountPath + " is a mounted ConfigMap");
        String yaml = null;
        for (JsonNode document : documents(DEPLOY.resolve("k8s/anomaly-job-config.yaml"))) {
            if (document.path("kind").asText().equals("ConfigMap") && document.path("metadata").path("name").asText().equals(configMap)) {
                yaml = document.path("data").path(configPath.substring(mountPath.length() + 1)).asText(null);
            }
        }
        assertNotNull(yaml, file + ": ConfigMap " + configMap + " with " + configPath + " in anomaly-job-config.yaml");
        Path settingsFile = Files.createTempFile("anomaly", ".yaml");
        try {
            Files.writeString(settingsFile, yaml);
            Map<String, String> settings = JobConfig.readYaml(settingsFile);
            try {
                AnomalyJob.configure(settings);
            } catch (ConfigException e) {
                List<String> problems = e.problems().stream().filter(p -> !p.startsWith("setting 'mamba.model-dir'")).toList();
                assertEquals(List.of(), problems, file + ": the job's settings");
            }
            assertEquals(spec.path("job").path("parallelism").asText(), settings.get("job.parallelism"), file + ": parallelism");
            return settings;
        } catch (ConfigException e) {
            throw new AssertionError(file + ": " + e.problems(), e);
        } finally {
            Files.delete(settingsFile);
        }
    }

    static void assertStateAndCheckpoints(JsonNode conf, String file) {
        assertEquals("rocksdb", text(conf, "state.backend.type"), file);
        assertEquals("true", text(conf, "execution.checkpointing.incremental"), file + ": incremental checkpoints");
        assertEquals("EXACTLY_ONCE", text(conf, "execution.checkpointing.mode"), file);
        assertFalse(text(conf, "execution.checkpointing.interval").isEmpty(), file + ": checkpoints on");
        assertTrue(text(conf, "execution.checkpointing.dir").startsWith("file:///"), file);
        assertTrue(text(conf, "execution.checkpointing.savepoint-dir").startsWith("file:///"),
                file + ": savepoint upgrades need a savepoint directory");
    }

    static void assertGpuResource(JsonNode conf, String file) {
        assertEquals("gpu", text(conf, "external-resources"), file);
        assertTrue(Integer.parseInt(text(conf, "external-resource.gpu.amount")) >= 1, file);
        assertEquals("org.apache.flink.externalresource.gpu.GPUDriverFactory",
                text(conf, "external-resource.gpu.driver-factory.class"), file);
        assertEquals("plugins/external-resource-gpu/nvidia-gpu-discovery.sh",
                text(conf, "external-resource.gpu.param.discovery-script.path"), file);
        assertEquals("nvidia.com/gpu", text(conf, "external-resource.gpu.kubernetes.config-key"), file);
        assertEquals("jcuda.", text(conf, "classloader.parent-first-patterns.additional"), file);
    }

    static void assertKnownFlinkKeys(JsonNode conf, String file) {
        Set<String> known = flinkKeys();
        Set<String> resources = Set.of(text(conf, "external-resources").split(";"));
        for (Iterator<String> keys = conf.fieldNames(); keys.hasNext(); ) {
            String key = keys.next();
            Matcher external = EXTERNAL_RESOURCE_KEY.matcher(key);
            if (external.matches()) {
                assertTrue(resources.contains(external.group(1)), file + ": " + key + " names a resource not in external-resources");
            } else {
                assertTrue(known.contains(key), file + ": " + key + " is not a Flink 2.2 option (or only a deprecated name)");
            }
        }
    }

    static Set<String> flinkKeys() {
        Set<String> keys = new HashSet<>();
        keys.add(ExternalResourceOptions.EXTERNAL_RESOURCE_LIST.key());
        for (Class<?> options : OPTION_CLASSES) {
            for (Field field : options.getFields()) {
                if (Modifier.isStatic(field.getModifiers()) && ConfigOption.class.isAssignableFrom(field.getType())
                        && field.getAnnotation(Deprecated.class) == null) {
                    try {
                        keys.add(((ConfigOption<?>) field.get(null)).key());
                    } catch (IllegalAccessException e) {
                        throw new AssertionError(e);
                    }
                }
            }
        }
        return keys;
    }

    static JsonNode mainContainer(JsonNode podTemplate) {
        for (JsonNode container : podTemplate.path("spec").path("containers")) {
            if ("flink-main-container".equals(container.path("name").asText())) {
                return container;
            }
        }
        return null;
    }

    static String text(JsonNode conf, String key) {
        JsonNode value = conf.path(key);
        return value.isMissingNode() || value.isNull() ? "" : value.asText();
    }

    static JsonNode deployment(String name) throws IOException {
        for (JsonNode document : documents(DEPLOY.resolve("k8s").resolve(name))) {
            if ("FlinkDeployment".equals(document.path("kind").asText())) {
                return document;
            }
        }
        throw new AssertionError(name + " holds no FlinkDeployment");
    }

    static JsonNode single(Path file) throws IOException {
        List<JsonNode> documents = documents(file);
        assertEquals(1, documents.size(), file + ": one YAML document");
        return documents.get(0);
    }

    static List<JsonNode> documents(Path file) throws IOException {
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
            List<JsonNode> documents = new ArrayList<>();
            while (it.hasNext()) {
                JsonNode document = it.next();
                if (document != null && !document.isNull() && !document.isMissingNode()) {
                    documents.add(document);
                }
            }
            return documents;
        }
    }

    static List<Path> yamlFiles() throws IOException {
        try (Stream<Path> files = Files.walk(DEPLOY)) {
            return files.filter(f -> f.toString().endsWith(".yaml") || f.toString().endsWith(".yml")).sorted().toList();
        }
    }
}
