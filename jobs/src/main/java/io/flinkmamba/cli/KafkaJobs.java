package io.flinkmamba.cli;

import io.flinkmamba.jobs.anomaly.AnomalyJob;
import io.flinkmamba.jobs.common.ConfigException;
import io.flinkmamba.jobs.common.JobConfig;
import io.flinkmamba.jobs.common.SourceEvent;
import io.flinkmamba.jobs.session.SessionJob;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.io.IOException;
import java.util.Map;
import java.util.function.UnaryOperator;

/** The Kafka jobs {@code run} knows, by name. */
enum KafkaJobs {
    anomaly(AnomalyJob::configure, AnomalyJob::build),
    session(SessionJob::configure, SessionJob::build);

    @FunctionalInterface
    private interface Configurer {
        JobConfig configure(Map<String, String> settings) throws ConfigException;
    }

    @FunctionalInterface
    private interface Builder {
        void build(StreamExecutionEnvironment env, JobConfig config, UnaryOperator<DataStream<SourceEvent>> tap)
                throws IOException;
    }

    private final Configurer configurer;
    private final Builder builder;

    KafkaJobs(Configurer configurer, Builder builder) {
        this.configurer = configurer;
        this.builder = builder;
    }

    JobConfig configure(Map<String, String> settings) throws ConfigException {
        return configurer.configure(settings);
    }

    void build(StreamExecutionEnvironment env, JobConfig config, UnaryOperator<DataStream<SourceEvent>> tap)
            throws IOException {
        builder.build(env, config, tap);
    }
}
