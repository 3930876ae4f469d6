package io.flinkmamba.cli;

import io.flinkmamba.cluster.LocalCluster;
import org.apache.flink.runtime.client.JobStatusMessage;
import org.apache.flink.runtime.rest.handler.legacy.messages.ClusterOverviewWithVersion;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/** {@code cluster start|stop|status}: a standalone Flink cluster of separate JVM processes on this machine. */
@Command(name = "cluster",
        mixinStandardHelpOptions = true,
        description = "A standalone Flink session cluster on this machine: a JobManager and N TaskManagers, each its"
                + " own JVM started from this jar (no Flink distribution needed), RocksDB state, checkpoints and"
                + " savepoints in the cluster folder. Submit jobs with `run <job> --cluster <REST address>`.",
        subcommands = {ClusterCommand.Start.class, ClusterCommand.Stop.class, ClusterCommand.Status.class})
final class ClusterCommand implements Runnable {

    static final String DEFAULT_DIR = "flink-mamba-cluster";

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    @Command(name = "start", mixinStandardHelpOptions = true,
            description = "Starts the JobManager and the TaskManagers, waits until all have registered, and prints"
                    + " the REST address as the last line: `rest <host:port>`.")
    static final class Start implements Callable<Integer> {
        @Option(names = "--dir", defaultValue = DEFAULT_DIR,
                description = "Cluster folder: configuration, pids, logs, checkpoints, savepoints (default ${DEFAULT-VALUE}).")
        Path dir;

        @Option(names = "--taskmanagers", defaultValue = "2", description = "TaskManager processes (default ${DEFAULT-VALUE}).")
        int taskManagers;

        @Option(names = "--slots", defaultValue = "2", description = "Slots per TaskManager (default ${DEFAULT-VALUE}).")
        int slots;

        @Option(names = "--taskmanager-memory", defaultValue = "1280m",
                description = "taskmanager.memory.process.size (default ${DEFAULT-VALUE}).")
        String taskManagerMemory;

        @Option(names = "--jobmanager-memory", defaultValue = "768m",
                description = "jobmanager.memory.process.size (default ${DEFAULT-VALUE}).")
        String jobManagerMemory;

        @Option(names = {"-D", "--set"}, paramLabel = "KEY=VALUE",
                description = "Any further Flink setting for config.yaml, e.g. -D execution.checkpointing.interval=5s.")
        Map<String, String> extra = Map.of();

        @Option(names = "--timeout", defaultValue = "2min", description = "How long to wait for the TaskManagers (default ${DEFAULT-VALUE}).")
        Duration timeout;

        @Override
        public Integer call() throws Exception {
            if (taskManagers < 1 || slots < 1) {
                System.err.println("--taskmanagers and --slots must be at least 1");
                return 2;
            }
            LocalCluster.Settings settings = new LocalCluster.Settings(taskManagers, slots, taskManagerMemory,
                    jobManagerMemory, extra);
            LocalCluster cluster = LocalCluster.start(dir, settings, timeout);
            System.out.println("cluster started in " + cluster.dir() + ": jobmanager and " + taskManagers
                    + " taskmanagers, " + slots + " slots each; logs in " + cluster.dir().resolve("log"));
            System.out.println("rest " + cluster.restAddress());
            return 0;
        }
    }

    @Command(name = "stop", mixinStandardHelpOptions = true,
            description = "Stops every process of the cluster (TaskManagers, then the JobManager). Logs, checkpoints"
                    + " and savepoints stay in the cluster folder.")
    static final class Stop implements Callable<Integer> {
        @Option(names = "--dir", defaultValue = DEFAULT_DIR, description = "Cluster folder (default ${DEFAULT-VALUE}).")
        Path dir;

        @Override
        public Integer call() throws Exception {
            LocalCluster cluster = LocalCluster.open(dir);
            int running = (int) cluster.processes().values().stream().filter(p -> p.map(ProcessHandle::isAlive).orElse(false)).count();
            cluster.close();
            System.out.println("cluster stopped: " + running + " processes ended");
            return 0;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = "The processes (alive or not), the REST address, the TaskManagers registered, and the jobs."
                    + " Exit code 0 when the JobManager answers, 1 when it does not.")
    static final class Status implements Callable<Integer> {
        @Option(names = "--dir", defaultValue = DEFAULT_DIR, description = "Cluster folder (default ${DEFAULT-VALUE}).")
        Path dir;

        @Override
        public Integer call() {
            LocalCluster cluster = LocalCluster.open(dir);
            System.out.println("cluster " + cluster.dir());
            Map<String, Long> rss = cluster.residentMemory();
            for (Map.Entry<String, Optional<ProcessHandle>> p : cluster.processes().entrySet()) {
                boolean alive = p.getValue().map(ProcessHandle::isAlive).orElse(false);
                System.out.printf("  %-16s %s%s%n", p.getKey(),
                        alive ? "alive, pid " + p.getValue().get().pid() : "not running",
                        rss.containsKey(p.getKey()) ? ", " + rss.get(p.getKey()) / (1024 * 1024) + " MiB resident" : "");
            }
            System.out.println("rest " + cluster.restAddress());
            try {
                ClusterOverviewWithVersion overview = cluster.overview();
                System.out.println("taskmanagers registered " + overview.getNumTaskManagersConnected()
                        + ", slots " + overview.getNumSlotsAvailable() + " free of " + overview.getNumSlotsTotal());
                System.out.println("jobs running " + overview.getNumJobsRunningOrPending()
                        + ", finished " + overview.getNumJobsFinished() + ", cancelled " + overview.getNumJobsCancelled()
                        + ", failed " + overview.getNumJobsFailed());
                cluster.jobs().stream()
                        .sorted(Comparator.comparingLong(JobStatusMessage::getStartTime))
                        .forEach(job -> System.out.println("  job " + job.getJobId() + " " + job.getJobState()
                                + " " + job.getJobName()));
                return 0;
            } catch (Exception e) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                System.out.println("jobmanager not answering at " + cluster.restAddress() + ": " + cause);
                return 1;
            }
        }
    }
}
