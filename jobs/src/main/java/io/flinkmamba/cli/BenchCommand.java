package io.flinkmamba.cli;

import picocli.CommandLine.Command;

/** Benchmarks; each prints its figures as plain lines. */
@Command(name = "bench",
        mixinStandardHelpOptions = true,
        description = "Benchmarks of the engines, the operator and the Kafka jobs end to end.",
        subcommands = {EngineBenchCommand.class, OperatorBenchCommand.class, JobBenchCommand.class})
final class BenchCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
