package io.flinkmamba.cli;

/**
 * The entry class for Flink's application mode (the Kubernetes operator's {@code job.entryClass}):
 * {@code run <job> --config FILE} inside the JobManager, which submits the job to that cluster. Unlike
 * {@link FlinkMambaCli#main}, it neither restarts the JVM (the cluster's JVMs get {@code --add-modules
 * jdk.incubator.vector} from {@code env.java.opts.all}) nor calls {@code System.exit}, which would end the
 * JobManager; a failed command fails the application with an exception.
 */
public final class ApplicationMode {
    private ApplicationMode() {}

    public static void main(String[] args) {
        int exit = FlinkMambaCli.commandLine().execute(args);
        if (exit != 0) {
            throw new IllegalStateException("flink-mamba " + String.join(" ", args) + " ended with exit code " + exit);
        }
    }
}
