package io.flinkmamba.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.module.ModuleFinder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** {@code java -jar flink-mamba.jar <command>}: the flink-mamba command-line tool. */
@Command(name = "flink-mamba",
        mixinStandardHelpOptions = true,
        versionProvider = FlinkMambaCli.Version.class,
        description = "Mamba selective state space models as a keyed Apache Flink operator.",
        subcommands = {
                RunCommand.class,
                DemoCommand.class,
                CheckReferenceCommand.class,
                BenchCommand.class,
                TrainCommand.class,
                TrainDefaultCommand.class,
                NabCommand.class,
                ClusterCommand.class,
                SoakCommand.class,
                CommandLine.HelpCommand.class
        })
public final class FlinkMambaCli implements Runnable {
    private static final String VECTOR_MODULE = "jdk.incubator.vector";
    private static final String RELAUNCHED = "flinkmamba.relaunched";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        if (!ModuleLayer.boot().findModule(VECTOR_MODULE).isPresent()
                && ModuleFinder.ofSystem().find(VECTOR_MODULE).isPresent() && System.getProperty(RELAUNCHED) == null) {
            Integer exit = relaunchWithVectorApi(args);
            if (exit != null) {
                System.exit(exit);
            }
        }
        System.exit(commandLine().execute(args));
    }

    /**
     * {@code java -jar} cannot resolve the JDK's incubating Vector API module, which the CPU engine's SIMD
     * kernels need (about twice the throughput), so the tool runs itself again in a child JVM with
     * {@code --add-modules jdk.incubator.vector} and the same JVM options, where the runtime has that module.
     * Returns the child's exit code, or null when no child could be started (the scalar kernels run then).
     */
    private static Integer relaunchWithVectorApi(String[] args) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.add("--add-modules=" + VECTOR_MODULE);
        command.add("-D" + RELAUNCHED + "=true");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(FlinkMambaCli.class.getName());
        command.addAll(List.of(args));
        try {
            return new ProcessBuilder(command).inheritIO().start().waitFor();
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 130;
        }
    }

    /** The configured command line, shared by {@link #main} and the tests. */
    static CommandLine commandLine() {
        return new CommandLine(new FlinkMambaCli()).setCaseInsensitiveEnumValuesAllowed(true).registerConverter(Duration.class, new DurationConverter());
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = FlinkMambaCli.class.getPackage().getImplementationVersion();
            return new String[] {"flink-mamba " + (version == null ? "(development build)" : version)};
        }
    }
}
