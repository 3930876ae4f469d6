package io.flinkmamba.cli;

import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * One job of {@code bench job} on its local MiniCluster: submitted, then timed from the first time its
 * status reads RUNNING (polled every 5 ms) to the end of its execution result, the same way for every job.
 */
final class JobBenchRun {
    private final JobClient client;
    private final CompletableFuture<Long> endedNanos;
    private final long runningNanos;

    private JobBenchRun(JobClient client, CompletableFuture<Long> endedNanos, long runningNanos) {
        this.client = client;
        this.endedNanos = endedNanos;
        this.runningNanos = runningNanos;
    }

    /** Submits the job built into {@code env} and returns once it runs (or has already ended). */
    static JobBenchRun start(StreamExecutionEnvironment env, String name) throws Exception {
        JobClient client = env.executeAsync(name);
        CompletableFuture<JobExecutionResult> result = client.getJobExecutionResult();
        CompletableFuture<Long> ended = result.thenApply(r -> System.nanoTime());
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        long polled = System.nanoTime();
        while (!ended.isDone()) {
            polled = System.nanoTime();
            JobStatus status;
            try {
                status = client.getJobStatus().get(10, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                continue; // the MiniCluster shut down with its job between the check and the query
            }
            if (status == JobStatus.RUNNING || status.isTerminalState()) {
                break;
            }
            if (polled > deadline) {
                client.cancel();
                throw new IllegalStateException("job " + name + " did not start within 2 minutes (" + status + ")");
            }
            Thread.sleep(5);
        }
        return new JobBenchRun(client, ended, polled);
    }

    /** Waits for the (bounded) job to finish; its seconds from RUNNING to the end. */
    double awaitFinished(Duration timeout) throws Exception {
        try {
            long ended = endedNanos.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return (ended - runningNanos) / 1e9;
        } catch (ExecutionException e) {
            throw new IllegalStateException("the job failed: " + rootCause(e), e);
        }
    }

    /** Fails fast when the (unbounded) job already ended: it can only have failed. */
    void requireRunning() {
        if (endedNanos.isDone()) {
            try {
                endedNanos.join();
                throw new IllegalStateException("the job ended while it should run");
            } catch (java.util.concurrent.CompletionException e) {
                throw new IllegalStateException("the job failed: " + rootCause(e), e);
            }
        }
    }

    /**
     * Stops the (unbounded) job with a savepoint after the end of event time (as {@code flink stop --drain}):
     * the final watermark releases what the operator holds for event-time order, and the savepoint commits
     * the last transactions; waits until the job is gone.
     */
    void stopWithDrain(Path savepoints) throws Exception {
        requireRunning();
        client.stopWithSavepoint(true, savepoints.toUri().toString(), SavepointFormatType.CANONICAL)
                .get(5, TimeUnit.MINUTES);
        awaitFinished(Duration.ofMinutes(1));
    }

    static String rootCause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return String.valueOf(t);
    }
}
