package io.flinkmamba.cli;

import io.flinkmamba.jobs.common.ConfigException;
import io.flinkmamba.jobs.common.JobConfig;
import io.flinkmamba.jobs.common.JobOptions;
import io.flinkmamba.jobs.common.KafkaPipeline;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.client.program.StreamContextEnvironment;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MetricOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/** {@code run <job> --config FILE}: runs a Kafka job locally or submits it to a cluster. */
@Command(name = "run",
        mixinStandardHelpOptions = true,
        description = {
                "Runs a Kafka-to-Kafka job: 'anomaly' (numeric metrics -> anomaly scores) or 'session' (categorical"
                        + " events -> next-event predictions, surprise, session markers).",
                "Locally in an in-process Flink MiniCluster by default, or submitted to a running cluster with"
                        + " --cluster. Exit 0 when the job finished, 1 when it failed, 2 on a bad configuration."})
final class RunCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "JOB", description = "The job: ${COMPLETION-CANDIDATES}.")
    KafkaJobs job;

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "The job's YAML configuration.")
    Path configFile;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "Overrides one setting (dotted key, e.g. kafka.bootstrap-servers=host:9092; lists as a;b).")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--cluster", paramLabel = "HOST:PORT",
            description = "Submit to the Flink cluster with this REST address instead of running locally.")
    String cluster;

    @Option(names = "--jar", paramLabel = "JAR",
            description = "The job jar shipped to the cluster with --cluster (default: this tool's jar).")
    Path jar;

    @Option(names = "--progress-every", defaultValue = "10s", paramLabel = "DURATION",
            description = "Interval of the plain progress lines when the output is not a terminal (default 10s).")
    Duration progressEvery;

    @Override
    public Integer call() throws Exception {
        JobConfig config;
        try {
            Map<String, String> settings = new LinkedHashMap<>(JobConfig.readYaml(configFile));
            settings.putAll(JobConfig.parseOverrides(overrides));
            config = job.configure(settings);
        } catch (ConfigException e) {
            e.problems().forEach(problem -> System.err.println("run: " + problem));
            return 2;
        }
        if (cluster == null && StreamExecutionEnvironment.getExecutionEnvironment() instanceof StreamContextEnvironment) {
            // Started by Flink itself (application mode, e.g. the Kubernetes operator, or `flink run`): the job
            // goes to the cluster that runs this main, with that cluster's checkpoint storage.
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(
                    KafkaPipeline.flinkConfiguration(config, null));
            System.out.println("run: " + job + " job '" + config.jobName() + "' on the cluster that started it");
            job.build(env, config, stream -> stream);
            return runAndFollow(env, config, System.out, System.console() != null, progressEvery,
                    env.getConfiguration().get(RestOptions.ADDRESS), env.getConfiguration().get(RestOptions.PORT));
        }
        if (cluster == null) {
            boolean temporary = !config.configuration().contains(JobOptions.CHECKPOINT_DIR);
            Path checkpoints = temporary ? KafkaPipeline.temporaryCheckpoints(config.jobName()) : null;
            Configuration flink = KafkaPipeline.flinkConfiguration(config, checkpoints);
            // A known REST port, so that the progress line can read the job's restarts from the MiniCluster.
            int restPort = freePort();
            flink.set(RestOptions.ADDRESS, "localhost");
            flink.set(RestOptions.BIND_PORT, String.valueOf(restPort));
            flink.set(MetricOptions.METRIC_FETCHER_UPDATE_INTERVAL, Duration.ofSeconds(2));
            StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(flink);
            System.out.println("run: " + job + " job '" + config.jobName() + "' in a local MiniCluster, checkpoints in "
                    + (temporary ? checkpoints + " (removed when the job ends)" : config.get(JobOptions.CHECKPOINT_DIR)));
            try {
                job.build(env, config, stream -> stream);
                return runAndFollow(env, config, System.out, System.console() != null, progressEvery, "localhost", restPort);
            } finally {
                if (temporary) {
                    FileTrees.delete(checkpoints);
                }
            }
        }
        String[] hostPort = cluster.split(":", 2);
        if (hostPort.length != 2 || !hostPort[1].matches("\\d+")) {
            System.err.println("run: --cluster must be HOST:PORT, got '" + cluster + "'");
            return 2;
        }
        Path jobJar = jar != null ? jar : ownJar();
        if (jobJar == null || !Files.isRegularFile(jobJar)) {
            System.err.println("run: --cluster needs the job jar: pass --jar (running from classes, not a jar)");
            return 2;
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createRemoteEnvironment(hostPort[0],
                Integer.parseInt(hostPort[1]), KafkaPipeline.flinkConfiguration(config, null), jobJar.toString());
        System.out.println("run: submitting " + job + " job '" + config.jobName() + "' to " + cluster);
        job.build(env, config, stream -> stream);
        return runAndFollow(env, config, System.out, System.console() != null, progressEvery, hostPort[0],
                Integer.parseInt(hostPort[1]));
    }

    /**
     * Submits the job and prints progress until it ends, with the restarts read from the REST API at
     * {@code restHost:restPort} (none shown when restHost is null); 0 when it finished, 1 when it failed or
     * was cancelled.
     */
    static int runAndFollow(StreamExecutionEnvironment env, JobConfig config, PrintStream out, boolean terminal,
                            Duration every, String restHost, int restPort) throws Exception {
        try (Progress progress = new Progress(config.kafkaProperties(), config.get(JobOptions.OUTPUT_TOPIC),
                config.get(JobOptions.DEAD_LETTER_TOPIC), out, terminal, every)) {
            JobClient client = env.executeAsync(config.jobName());
            out.println("run: job id " + client.getJobID());
            if (restHost != null) {
                progress.restarts(new JobRestarts(restHost, restPort, client.getJobID())::latest);
            }
            // The result, not the status: a local MiniCluster shuts down with its job and answers no status then.
            CompletableFuture<JobExecutionResult> result = client.getJobExecutionResult();
            while (!result.isDone()) {
                progress.tick();
            }
            progress.done();
            try {
                result.get();
                out.println("run: job finished");
                return 0;
            } catch (ExecutionException e) {
                Throwable cause = e;
                while (cause.getCause() != null) {
                    cause = cause.getCause();
                }
                System.err.println("run: job failed: " + cause);
                return 1;
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** The jar this class was loaded from, or null when running from classes. */
    static Path ownJar() {
        try {
            File location = new File(RunCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return location.isFile() ? location.toPath() : null;
        } catch (URISyntaxException | SecurityException e) {
            return null;
        }
    }
}
