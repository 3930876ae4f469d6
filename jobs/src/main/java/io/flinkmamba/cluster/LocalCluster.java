package io.flinkmamba.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.client.deployment.StandaloneClusterId;
import org.apache.flink.client.program.rest.RestClusterClient;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.client.JobStatusMessage;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessSpec;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils;
import org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint;
import org.apache.flink.runtime.jobmanager.JobManagerProcessSpec;
import org.apache.flink.runtime.jobmanager.JobManagerProcessUtils;
import org.apache.flink.runtime.rest.handler.legacy.messages.ClusterOverviewWithVersion;
import org.apache.flink.runtime.taskexecutor.TaskManagerRunner;
import org.apache.flink.runtime.util.config.memory.ProcessMemoryUtils;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A standalone Flink session cluster on this machine: one JobManager ({@link StandaloneSessionClusterEntrypoint})
 * and TaskManagers ({@link TaskManagerRunner}), each a JVM process of its own, started from this JVM's class
 * path (the shaded flink-mamba.jar, or the test class path), so no Flink distribution is needed.
 *
 * <p>Everything lives in the cluster folder: {@code conf/config.yaml} and {@code conf/log4j2.properties},
 * {@code pids/} (one file per process: {@code jobmanager.pid}, {@code taskmanager-N.pid}), {@code log/}
 * (each process's log and stdout), {@code checkpoints/}, {@code savepoints/}, {@code rocksdb/} (the
 * TaskManagers' working RocksDB folders). Processes outlive the JVM that started them; another JVM
 * {@link #open}s the folder to see or stop them.
 */
public final class LocalCluster implements AutoCloseable {
    static final String JOBMANAGER = "jobmanager";
    static final String TASKMANAGER = "taskmanager-";
    /** Reads the REST answers; thread-safe, so one for all (not one per request). */
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final Configuration config;

    private LocalCluster(Path dir, Configuration config) {
        this.dir = dir;
        this.config = config;
    }

    /** The settings of a new cluster. */
    public record Settings(int taskManagers, int slotsPerTaskManager, String taskManagerMemory,
                           String jobManagerMemory, Map<String, String> extraConfig) {
        public static Settings defaults() {
            return new Settings(2, 2, "1280m", "768m", Map.of());
        }

        public Settings withTaskManagers(int n) {
            return new Settings(n, slotsPerTaskManager, taskManagerMemory, jobManagerMemory, extraConfig);
        }
    }

    /**
     * Writes the configuration into {@code dir} (created when absent; refused when a cluster there still
     * runs), starts the JobManager and the TaskManagers, and returns once all TaskManagers have registered.
     */
    public static LocalCluster start(Path dir, Settings settings, Duration timeout) throws IOException {
        dir = dir.toAbsolutePath().normalize();
        if (Files.isDirectory(dir.resolve("pids"))) {
            LocalCluster existing = open(dir);
            if (existing.processes().values().stream().anyMatch(p -> p.isPresent() && p.get().isAlive())) {
                throw new IllegalStateException("a cluster is already running in " + dir + " (cluster stop first)");
            }
            existing.clearPids();
        }
        for (String sub : List.of("conf", "pids", "log", "checkpoints", "savepoints", "rocksdb", "tmp")) {
            Files.createDirectories(dir.resolve(sub));
        }
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("jobmanager.rpc.address", "localhost");
        conf.put("jobmanager.bind-host", "localhost");
        conf.put("jobmanager.rpc.port", String.valueOf(freePort()));
        conf.put("taskmanager.host", "localhost");
        conf.put("taskmanager.bind-host", "localhost");
        conf.put("rest.address", "localhost");
        conf.put("rest.bind-address", "localhost");
        conf.put("rest.port", String.valueOf(freePort()));
        conf.put("jobmanager.memory.process.size", settings.jobManagerMemory());
        conf.put("taskmanager.memory.process.size", settings.taskManagerMemory());
        conf.put("taskmanager.numberOfTaskSlots", String.valueOf(settings.slotsPerTaskManager()));
        conf.put("state.backend.type", "rocksdb");
        conf.put("execution.checkpointing.incremental", "true");
        conf.put("execution.checkpointing.dir", dir.resolve("checkpoints").toUri().toString());
        conf.put("execution.checkpointing.savepoint-dir", dir.resolve("savepoints").toUri().toString());
        conf.put("state.backend.rocksdb.localdir", dir.resolve("rocksdb").toString());
        conf.put("io.tmp.dirs", dir.resolve("tmp").toString());
        // A killed TaskManager is noticed within seconds (missed heartbeats, refused heartbeat RPCs).
        conf.put("heartbeat.interval", "1s");
        conf.put("heartbeat.timeout", "8s");
        // Restart a failed job after a second, every time (up to 100 times): no backoff growing over repeated
        // failures, so recovery time does not depend on how many failures came before.
        conf.put("restart-strategy.type", "fixed-delay");
        conf.put("restart-strategy.fixed-delay.attempts", "100");
        conf.put("restart-strategy.fixed-delay.delay", "1s");
        conf.put("env.java.opts.all", "--add-modules jdk.incubator.vector");
        // The processes' own class path already holds every class of a flink-mamba job jar (the same jar);
        // parent-first keeps one copy of each class (child-first would load Kafka's client classes twice).
        conf.put("classloader.resolve-order", "parent-first");
        conf.putAll(settings.extraConfig());
        StringBuilder yaml = new StringBuilder("# Written by `flink-mamba cluster start`.\n");
        conf.forEach((k, v) -> yaml.append(k).append(": ").append(quote(v)).append('\n'));
        Files.writeString(dir.resolve("conf/config.yaml"), yaml);
        Files.writeString(dir.resolve("conf/log4j2.properties"), LOG4J);

        LocalCluster cluster = open(dir);
        try {
            cluster.startJobManager();
            for (int i = 1; i <= settings.taskManagers(); i++) {
                cluster.startTaskManager(i);
            }
            cluster.awaitTaskManagers(settings.taskManagers(), timeout);
        } catch (IOException | RuntimeException e) {
            cluster.close();
            throw e;
        }
        return cluster;
    }

    /** The cluster whose folder is {@code dir} (its processes may or may not be running). */
    public static LocalCluster open(Path dir) {
        dir = dir.toAbsolutePath().normalize();
        if (!Files.isRegularFile(dir.resolve("conf/config.yaml"))) {
            throw new IllegalArgumentException("no cluster in " + dir + " (no conf/config.yaml)");
        }
        return new LocalCluster(dir, GlobalConfiguration.loadConfiguration(dir.resolve("conf").toString()));
    }

    public Path dir() {
        return dir;
    }

    /** {@code host:port} of the JobManager's REST endpoint, as {@code run --cluster} takes it. */
    public String restAddress() {
        return config.get(RestOptions.ADDRESS) + ":" + config.get(RestOptions.PORT);
    }

    public Path savepointDir() {
        return dir.resolve("savepoints");
    }

    public Path rocksDbDir() {
        return dir.resolve("rocksdb");
    }

    // ---- processes ----------------------------------------------------------------------------------

    /** Starts TaskManager number {@code n} (its pid file and log are named after n). */
    public ProcessHandle startTaskManager(int n) throws IOException {
        Configuration memory = new Configuration(config);
        TaskExecutorProcessSpec spec = TaskExecutorProcessUtils.processSpecFromConfig(memory);
        List<String> jvm = split(ProcessMemoryUtils.generateJvmParametersStr(spec));
        List<String> args = new ArrayList<>(split(TaskExecutorProcessUtils.generateDynamicConfigsStr(spec)));
        // Named after its process, so that the JobManager's view of a job maps onto pids.
        args.addAll(List.of("-D", "taskmanager.resource-id=" + TASKMANAGER + n));
        return launch(TASKMANAGER + n, jvm, TaskManagerRunner.class.getName(), args);
    }

    private ProcessHandle startJobManager() throws IOException {
        JobManagerProcessSpec spec = JobManagerProcessUtils.processSpecFromConfig(new Configuration(config));
        List<String> jvm = split(JobManagerProcessUtils.generateJvmParametersStr(spec, config));
        List<String> dynamic = split(JobManagerProcessUtils.generateDynamicConfigsStr(spec));
        List<String> args = new ArrayList<>(List.of("--executionMode", "cluster"));
        args.addAll(dynamic);
        return launch(JOBMANAGER, jvm, StandaloneSessionClusterEntrypoint.class.getName(), args);
    }

    private ProcessHandle launch(String name, List<String> jvmMemory, String mainClass, List<String> args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmMemory);
        command.addAll(split(config.get(CoreOptions.FLINK_JVM_OPTIONS)));
        command.add("-Dlog.file=" + dir.resolve("log/" + name + ".log"));
        command.add("-Dlog4j.configurationFile=" + dir.resolve("conf/log4j2.properties").toUri());
        command.add("-cp");
        command.add(classPath());
        command.add(mainClass);
        command.add("--configDir");
        command.add(dir.resolve("conf").toString());
        command.addAll(args);
        File out = dir.resolve("log/" + name + ".out").toFile();
        Process process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(out))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
        Files.writeString(pidFile(name), String.valueOf(process.pid()));
        return process.toHandle();
    }

    /**
     * {@code kill -9} of TaskManager n: SIGKILL, no shutdown hook, no goodbye to the JobManager. Returns once
     * the process is gone.
     */
    public void killTaskManager(int n) throws IOException {
        ProcessHandle process = process(TASKMANAGER + n)
                .filter(ProcessHandle::isAlive)
                .orElseThrow(() -> new IllegalStateException("taskmanager " + n + " is not running"));
        process.destroyForcibly();
        process.onExit().join();
        Files.deleteIfExists(pidFile(TASKMANAGER + n));
    }

    /** The numbers of the TaskManagers with a live process. */
    public List<Integer> liveTaskManagers() {
        List<Integer> live = new ArrayList<>();
        processes().forEach((name, p) -> {
            if (name.startsWith(TASKMANAGER) && p.isPresent() && p.get().isAlive()) {
                live.add(Integer.parseInt(name.substring(TASKMANAGER.length())));
            }
        });
        return live;
    }

    /** Process name (jobmanager, taskmanager-N) to its process, empty when its pid no longer runs. */
    public Map<String, Optional<ProcessHandle>> processes() {
        Map<String, Optional<ProcessHandle>> result = new TreeMap<>();
        try (Stream<Path> pids = Files.list(dir.resolve("pids"))) {
            for (Path pid : pids.filter(p -> p.toString().endsWith(".pid")).toList()) {
                String name = pid.getFileName().toString().replace(".pid", "");
                result.put(name, process(name));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return result;
    }

    /** Resident memory of each live process, from /proc (bytes; absent where /proc is not there). */
    public Map<String, Long> residentMemory() {
        Map<String, Long> rss = new LinkedHashMap<>();
        processes().forEach((name, p) -> p.filter(ProcessHandle::isAlive).ifPresent(h -> {
            try {
                for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(h.pid()), "status"))) {
                    if (line.startsWith("VmRSS:")) {
                        rss.put(name, Long.parseLong(line.replaceAll("\\D", "")) * 1024);
                    }
                }
            } catch (IOException | NumberFormatException e) {
                // The process ended between the two looks, or there is no /proc: no figure for it.
            }
        }));
        return rss;
    }

    private Optional<ProcessHandle> process(String name) {
        try {
            Path pid = pidFile(name);
            if (!Files.exists(pid)) {
                return Optional.empty();
            }
            return ProcessHandle.of(Long.parseLong(Files.readString(pid).strip()))
                    .filter(h -> h.info().command().map(c -> c.endsWith("java")).orElse(true));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    private Path pidFile(String name) {
        return dir.resolve("pids/" + name + ".pid");
    }

    private void clearPids() throws IOException {
        try (Stream<Path> pids = Files.list(dir.resolve("pids"))) {
            for (Path pid : pids.toList()) {
                Files.delete(pid);
            }
        }
    }

    // ---- REST -----------------------------------------------------------------------------------------

    /** A REST client of the JobManager; close it after use. */
    public RestClusterClient<StandaloneClusterId> client() {
        try {
            return new RestClusterClient<>(new Configuration(config), StandaloneClusterId.getInstance());
        } catch (Exception e) {
            throw new IllegalStateException("cannot create a REST client for " + restAddress(), e);
        }
    }

    /** The JobManager's cluster overview (TaskManagers, slots, jobs by state). */
    public ClusterOverviewWithVersion overview() throws Exception {
        try (RestClusterClient<StandaloneClusterId> client = client()) {
            return client.getClusterOverview().get(10, TimeUnit.SECONDS);
        }
    }

    public Collection<JobStatusMessage> jobs() throws Exception {
        try (RestClusterClient<StandaloneClusterId> client = client()) {
            return client.listJobs().get(10, TimeUnit.SECONDS);
        }
    }

    /**
     * The numbers of the TaskManagers that run tasks of the job now (as the JobManager sees it: the
     * TaskManagers of each vertex's current execution attempts).
     */
    public Set<Integer> taskManagersOf(JobID job) {
        try {
            return taskManagersOf(job, HttpClient.newHttpClient());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private Set<Integer> taskManagersOf(JobID job, HttpClient http) throws IOException, InterruptedException {
        String base = "http://" + restAddress() + "/jobs/" + job;
        Set<Integer> numbers = new TreeSet<>();
        for (JsonNode vertex : getJson(http, base).path("vertices")) {
            for (JsonNode tm : getJson(http, base + "/vertices/" + vertex.path("id").asText() + "/taskmanagers").path("taskmanagers")) {
                String id = tm.path("taskmanager-id").asText();
                if (id.startsWith(TASKMANAGER) && !"CANCELED".equals(tm.path("status").asText())) {
                    numbers.add(Integer.parseInt(id.substring(TASKMANAGER.length())));
                }
            }
        }
        return numbers;
    }

    private static JsonNode getJson(HttpClient http, String url) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException(url + " answered " + response.statusCode() + ": " + response.body());
        }
        return JSON.readTree(response.body());
    }

    /** Waits until {@code n} TaskManagers have registered with the JobManager. */
    public void awaitTaskManagers(int n, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "no answer yet";
        while (System.nanoTime() < deadline) {
            if (process(JOBMANAGER).filter(ProcessHandle::isAlive).isEmpty()) {
                throw new IllegalStateException("the JobManager exited; see " + dir.resolve("log/jobmanager.out")
                        + " and jobmanager.log:\n" + tail(dir.resolve("log/jobmanager.out")));
            }
            try {
                // Plain HTTP: no REST client retrying in the background while the JobManager starts.
                int registered = getJson(HttpClient.newHttpClient(), "http://" + restAddress() + "/overview")
                        .path("taskmanagers").asInt();
                if (registered == n) {
                    return;
                }
                last = registered + " TaskManagers registered";
            } catch (IOException e) {
                last = e.toString();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
            sleep(300);
        }
        throw new IllegalStateException("timed out waiting for " + n + " TaskManagers at " + restAddress() + ": " + last);
    }

    /** Waits until the job is in the given state. */
    public void awaitJobStatus(JobID job, JobStatus status, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (RestClusterClient<StandaloneClusterId> client = client()) {
            JobStatus current = null;
            while (System.nanoTime() < deadline) {
                try {
                    current = client.getJobStatus(job).get(10, TimeUnit.SECONDS);
                    if (current == status) {
                        return;
                    }
                    if (current.isGloballyTerminalState()) {
                        break;
                    }
                } catch (Exception e) {
                    // The JobManager may be busy restarting the job; ask again.
                }
                sleep(200);
            }
            throw new IllegalStateException("job " + job + " is " + current + ", expected " + status);
        }
    }

    /** Stops the job with a savepoint in this cluster's savepoint folder; returns the savepoint's path. */
    public String stopWithSavepoint(JobID job, Duration timeout) throws Exception {
        return stopWithSavepoint(job, false, timeout);
    }

    /**
     * Stops the job with a savepoint; with {@code drain}, first the final watermark, so that event-time
     * operators emit what they hold (for a job that will not be continued).
     */
    public String stopWithSavepoint(JobID job, boolean drain, Duration timeout) throws Exception {
        try (RestClusterClient<StandaloneClusterId> client = client()) {
            return client.stopWithSavepoint(job, drain, savepointDir().toUri().toString(), SavepointFormatType.CANONICAL)
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    // ---- stop -----------------------------------------------------------------------------------------

    /**
     * Stops every process of the cluster: TaskManagers first, then the JobManager; SIGTERM, then SIGKILL
     * for any still running after 30 s. Logs, checkpoints and savepoints stay in the folder.
     */
    @Override
    public void close() throws IOException {
        Map<String, Optional<ProcessHandle>> processes = processes();
        List<ProcessHandle> order = new ArrayList<>();
        processes.forEach((name, p) -> {
            if (!name.equals(JOBMANAGER)) {
                p.ifPresent(order::add);
            }
        });
        Optional.ofNullable(processes.get(JOBMANAGER)).flatMap(p -> p).ifPresent(order::add);
        for (ProcessHandle process : order) {
            process.destroy();
        }
        for (ProcessHandle process : order) {
            try {
                process.onExit().get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                process.destroyForcibly();
                process.onExit().join();
            }
        }
        clearPids();
    }

    // ---- helpers --------------------------------------------------------------------------------------

    /** This JVM's class path with absolute entries, so the processes find it whatever their folder. */
    static String classPath() {
        return Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(s -> !s.isBlank())
                .map(s -> Path.of(s).toAbsolutePath().toString())
                .collect(Collectors.joining(File.pathSeparator));
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        }
    }

    static String tail(Path file) {
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(" + file + " unreadable: " + e.getMessage() + ")";
        }
    }

    private static List<String> split(String args) {
        return Arrays.stream(args.strip().split("\\s+")).filter(s -> !s.isEmpty()).toList();
    }

    private static String quote(String value) {
        return value.matches("[A-Za-z0-9_./:;+=@-][A-Za-z0-9_./:;+=@ -]*") && !value.contains(": ") ? value
                : "'" + value.replace("'", "''") + "'";
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** Each process logs INFO and above to its own file (log.file), as Flink's distribution does. */
    private static final String LOG4J = """
            # Written by `flink-mamba cluster start`: each process logs to its own file (-Dlog.file).
            rootLogger.level = INFO
            rootLogger.appenderRef.file.ref = file
            appender.file.name = file
            appender.file.type = File
            appender.file.fileName = ${sys:log.file}
            appender.file.append = true
            appender.file.layout.type = PatternLayout
            appender.file.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
            logger.kafka.name = org.apache.kafka
            logger.kafka.level = WARN
            """;
}
