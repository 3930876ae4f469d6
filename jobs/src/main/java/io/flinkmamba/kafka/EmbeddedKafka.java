package io.flinkmamba.kafka;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A single-node Kafka broker in KRaft mode (broker and controller in one process), in this JVM, on free
 * localhost ports, with its data in a temporary folder that {@link #close()} removes. For the demo and the
 * tests; nothing here is meant for production.
 */
public final class EmbeddedKafka implements AutoCloseable {
    private final Path dataDir;
    private final KafkaRaftServer server;
    private final String bootstrapServers;

    private EmbeddedKafka(Path dataDir, KafkaRaftServer server, String bootstrapServers) {
        this.dataDir = dataDir;
        this.server = server;
        this.bootstrapServers = bootstrapServers;
    }

    /** Formats a fresh log folder and starts the broker; returns once it accepts clients. */
    public static EmbeddedKafka start() throws IOException {
        Path dataDir = Files.createTempDirectory("flink-mamba-kafka");
        try {
            int brokerPort = freePort();
            int controllerPort = freePort();
            Properties props = new Properties();
            props.put("process.roles", "broker,controller");
            props.put("node.id", "1");
            props.put("controller.quorum.voters", "1@localhost:" + controllerPort);
            props.put("listeners", "PLAINTEXT://localhost:" + brokerPort + ",CONTROLLER://localhost:" + controllerPort);
            props.put("advertised.listeners", "PLAINTEXT://localhost:" + brokerPort);
            props.put("controller.listener.names", "CONTROLLER");
            props.put("inter.broker.listener.name", "PLAINTEXT");
            props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
            props.put("log.dirs", dataDir.resolve("logs").toString());
            // One node: internal topics with one replica and few partitions, so they are created quickly.
            props.put("offsets.topic.replication.factor", "1");
            props.put("offsets.topic.num.partitions", "2");
            props.put("transaction.state.log.replication.factor", "1");
            props.put("transaction.state.log.min.isr", "1");
            props.put("transaction.state.log.num.partitions", "2");
            props.put("share.coordinator.state.topic.replication.factor", "1");
            props.put("share.coordinator.state.topic.min.isr", "1");
            props.put("group.initial.rebalance.delay.ms", "0");
            props.put("num.partitions", "1");
            props.put("auto.create.topics.enable", "false");
            props.put("log.flush.interval.messages", String.valueOf(Long.MAX_VALUE));
            // Demo and test events carry historical timestamps; time-based retention would delete them.
            props.put("log.retention.ms", "-1");
            KafkaConfig config = KafkaConfig.fromProps(props, false);

            new Formatter()
                    .setPrintStream(new PrintStream(PrintStream.nullOutputStream()))
                    .setNodeId(1)
                    .setClusterId(Uuid.randomUuid().toString())
                    .setControllerListenerName("CONTROLLER")
                    .setMetadataLogDirectory(config.metadataLogDir())
                    .setDirectories(List.of(dataDir.resolve("logs").toString()))
                    .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
                    .run();

            KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
            server.startup();
            EmbeddedKafka kafka = new EmbeddedKafka(dataDir, server, "localhost:" + brokerPort);
            kafka.awaitReady();
            return kafka;
        } catch (IOException e) {
            deleteTree(dataDir);
            throw e;
        } catch (Exception e) {
            deleteTree(dataDir);
            throw new IOException("the embedded Kafka broker did not start: " + e.getMessage(), e);
        }
    }

    /** {@code host:port} for clients. */
    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** The broker's temporary data folder (removed by {@link #close()}). */
    Path dataDir() {
        return dataDir;
    }

    /** Properties with the bootstrap servers, a base for clients of this broker. */
    public Properties clientProperties() {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        return props;
    }

    /** Creates topics with the given partition count and one replica; waits until they exist. */
    public void createTopics(int partitions, String... topics) {
        List<NewTopic> newTopics = new ArrayList<>();
        for (String topic : topics) {
            newTopics.add(new NewTopic(topic, partitions, (short) 1));
        }
        try (Admin admin = Admin.create(clientProperties())) {
            admin.createTopics(newTopics).all().get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException("could not create topics " + List.of(topics) + ": " + e.getCause(), e);
        } catch (Exception e) {
            throw new IllegalStateException("could not create topics " + List.of(topics) + ": " + e, e);
        }
    }

    private void awaitReady() throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers))) {
            admin.describeCluster().nodes().get(60, TimeUnit.SECONDS);
        }
    }

    @Override
    public void close() {
        try {
            server.shutdown();
            server.awaitShutdown();
        } finally {
            deleteTree(dataDir);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        }
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
