import ArgumentParser
import DevsyncDaemon
import Glibc
import Logging
import ServiceLifecycle

/// devsyncd, the device broker: parses its flags and runs the broker as a service (``BrokerDaemonService``).
@main
struct Devsyncd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devsyncd",
        abstract: "The devsync broker: publishes sync devices on D-Bus as org.devsync.Broker1.",
        discussion: "Settings come from /etc/devsync/devsyncd.conf, then these flags (docs/configuration.md). "
            + "SIGHUP reloads the profiles; SIGTERM or SIGINT stops the daemon.")

    @Option(name: .customLong("config"), help: ArgumentHelp("Read FILE instead of /etc/devsync/devsyncd.conf.", valueName: "FILE"))
    var configPath: String?

    @Option(name: .customLong("profiles"), help: ArgumentHelp("A profile directory; repeatable, replaces ProfileDirectories.", valueName: "DIR"))
    var profiles: [String] = []

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("Where per-device state is kept.", valueName: "DIR"))
    var stateDirectory: String?

    @Option(name: .customLong("bus"), help: ArgumentHelp("system, session or a D-Bus address.", valueName: "system|session|ADDRESS"))
    var bus: String?

    @Option(name: .customLong("log-level"), help: ArgumentHelp("trace, debug, info, notice, warning, error or critical.", valueName: "LEVEL"))
    var logLevel: String?

    func run() async throws {
        // libdbus and libbluetooth write to sockets whose peer may vanish; that must be an EPIPE, not death.
        signal(SIGPIPE, SIG_IGN)

        let configuration: DaemonConfiguration
        do {
            configuration = try DaemonConfiguration.resolve(CommandLineOverrides(
                profiles: profiles.isEmpty ? nil : profiles, stateDirectory: stateDirectory, bus: bus,
                configPath: configPath, logLevel: logLevel))
        } catch {
            Self.fail("\(error)", status: 2)
        }
        LoggingSystem.bootstrap { _ in JournalLogHandler() }
        var logger = Logger(label: "devsyncd")
        logger.logLevel = configuration.logLevel

        // One service under swift-service-lifecycle: the group traps SIGTERM and SIGINT before the broker
        // starts and turns them into a graceful shutdown; the service itself handles SIGHUP.
        let group = ServiceGroup(
            services: [BrokerDaemonService(configuration: configuration, logger: logger)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        do {
            try await group.run()
        } catch let error as StartError {
            Self.fail(error.message, status: error.step == .nameTaken ? 3 : 1)
        } catch is BrokerDaemonService.BusClosed {
            throw ExitCode(1)
        }
    }

    /// Writes `devsyncd: message` to stderr and exits.
    private static func fail(_ message: String, status: Int32) -> Never {
        var line = "devsyncd: \(message)\n"
        line.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
        Glibc.exit(status)
    }
}
