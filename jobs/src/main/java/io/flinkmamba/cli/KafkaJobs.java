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
    anomaly {
        @Override
        JobConfig configure(Map<String, String> settings) throws ConfigException {
            return AnomalyJob.configure(settings);
        }

        @Override
        void build(StreamExecutionEnvironment env, JobConfig config, UnaryOperator<DataStream<SourceEvent>> tap)
                throws IOException {
            AnomalyJob.build(env, config, tap);
        }
    },
    session {
        @Override
        JobConfig configure(Map<String, String> settings) throws ConfigException {
            return SessionJob.configure(settings);
        }

        @Override
        void build(StreamExecutionEnvironment env, JobConfig config, UnaryOperator<DataStream<SourceEvent>> tap)
                throws IOException {
            SessionJob.build(env, config, tap);
        }
    };

    abstract JobConfig configure(Map<String, String> settings) throws ConfigException;

    abstract void build(StreamExecutionEnvironment env, JobConfig config, UnaryOperator<DataStream<SourceEvent>> tap)
            throws IOException;
}
