package io.flinkmamba.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code java -jar flink-mamba.jar <command>}: the flink-mamba command-line tool. */
@Command(name = "flink-mamba",
        mixinStandardHelpOptions = true,
        versionProvider = FlinkMambaCli.Version.class,
        description = "Mamba selective state space models as a keyed Apache Flink operator.",
        subcommands = {
                DemoCommand.class,
                CheckReferenceCommand.class,
                BenchCommand.class,
                CommandLine.HelpCommand.class
        })
public final class FlinkMambaCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line, shared by {@link #main} and the tests. */
    static CommandLine commandLine() {
        return new CommandLine(new FlinkMambaCli());
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = FlinkMambaCli.class.getPackage().getImplementationVersion();
            return new String[] {"flink-mamba " + (version == null ? "(development build)" : version)};
        }
    }
}
