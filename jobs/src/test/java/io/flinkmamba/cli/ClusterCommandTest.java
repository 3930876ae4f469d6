package io.flinkmamba.cli;

import io.flinkmamba.cluster.LocalCluster;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code cluster start}, {@code status} and {@code stop} through the command line: real JobManager and
 * TaskManager processes, a keyed job on RocksDB submitted to their REST address, and nothing left running.
 */
class ClusterCommandTest {

    @TempDir
    Path dir;

    @Test
    void startRunStatusStop() throws Exception {
        CliRun start = CliRun.of("cluster", "start", "--dir", dir.toString(), "--taskmanagers", "2", "--slots", "1");
        try {
            assertEquals(0, start.exit(), start.err());
            String rest = start.lastLine().replace("rest ", "");
            assertTrue(rest.matches("localhost:\\d+"), start.out());

            LocalCluster cluster = LocalCluster.open(dir);
            assertEquals(List.of(1, 2), cluster.liveTaskManagers());
            String config = Files.readString(dir.resolve("conf/config.yaml"));
            assertTrue(config.contains("state.backend.type: rocksdb"), config);
            assertTrue(config.contains("execution.checkpointing.dir: " + dir.resolve("checkpoints").toUri()), config);

            // A keyed job on the cluster's RocksDB, over both TaskManagers: a running count per key.
            String[] hostPort = rest.split(":");
            StreamExecutionEnvironment env = StreamExecutionEnvironment.createRemoteEnvironment(hostPort[0],
                    Integer.parseInt(hostPort[1]));
            env.setParallelism(2);
            List<Long> counts = new ArrayList<>();
            try (CloseableIterator<Long> results = env.fromSequence(0, 999).keyBy(i -> i % 10)
                    .process(new CountPerKey()).executeAndCollect("count per key")) {
                results.forEachRemaining(counts::add);
            }
            assertEquals(1000, counts.size());
            assertEquals(100L, counts.stream().mapToLong(Long::longValue).max().orElseThrow(), "each key counted to 100");

            // The finished job's slots come back free asynchronously (its JobMaster releases them after the
            // result was collected): ask again until they have, for at most 30 s.
            CliRun status = CliRun.of("cluster", "status", "--dir", dir.toString());
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!status.out().contains("slots 2 free of 2") && System.nanoTime() < deadline) {
                Thread.sleep(200);
                status = CliRun.of("cluster", "status", "--dir", dir.toString());
            }
            assertEquals(0, status.exit(), status.out());
            assertTrue(status.out().contains("rest " + rest), status.out());
            assertTrue(status.out().contains("taskmanagers registered 2, slots 2 free of 2"), status.out());
            assertTrue(status.out().contains("finished 1"), status.out());
            assertTrue(status.out().contains("FINISHED count per key"), status.out());
            assertTrue(status.out().matches("(?s).*taskmanager-2 +alive, pid \\d+.*"), status.out());
            assertTrue(Files.readString(dir.resolve("log/taskmanager-1.log")).contains("RocksDB")
                    || Files.readString(dir.resolve("log/taskmanager-2.log")).contains("RocksDB"),
                    "the job's keyed state lived in RocksDB");
        } finally {
            CliRun stop = CliRun.of("cluster", "stop", "--dir", dir.toString());
            assertEquals(0, stop.exit(), stop.err());
        }
        assertTrue(LocalCluster.open(dir).processes().isEmpty(), "no pid files left");
        CliRun status = CliRun.of("cluster", "status", "--dir", dir.toString());
        assertEquals(1, status.exit(), "a stopped cluster does not answer");
        assertFalse(status.out().contains("alive"), status.out());
    }

    @Test
    void statusOfAFolderWithoutCluster() {
        CliRun status = CliRun.of("cluster", "status", "--dir", dir.toString());
        assertTrue(status.exit() != 0);
        assertTrue(status.err().contains("no cluster in " + dir.toAbsolutePath()), status.err());
    }

    /** A running count per key in keyed ValueState. */
    static final class CountPerKey extends KeyedProcessFunction<Long, Long, Long> {
        private transient ValueState<Long> count;

        @Override
        public void open(OpenContext context) {
            count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
        }

        @Override
        public void processElement(Long value, Context ctx, Collector<Long> out) throws Exception {
            long next = Optional.ofNullable(count.value()).orElse(0L) + 1;
            count.update(next);
            out.collect(next);
        }
    }
}
