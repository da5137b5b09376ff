import ArgumentParser
import DevsyncDaemon
import Dispatch
import Glibc
import Logging

/// devsyncd, the device broker: parses its flags, starts the broker, and turns signals into reloads and a stop.
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
        let signals = SignalStream([SIGTERM, SIGINT, SIGHUP])

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
        let log = logger

        let broker: RunningBroker
        do {
            broker = try await RunningBroker.start(configuration: configuration, logger: logger)
        } catch {
            Self.fail(error.message, status: error.step == .nameTaken ? 3 : 1)
        }

        let signalEvents = signals.events
        let signalled = await withTaskGroup(of: Int32?.self) { group in
            group.addTask {
                for await number in signalEvents {
                    guard number == SIGHUP else { return number }
                    let result = await broker.reloadProfiles()
                    log.notice(
                        "SIGHUP: profiles reloaded", metadata: ["rules": "\(result.rules)", "skipped": "\(result.errors.count)"])
                }
                return nil
            }
            group.addTask {
                await broker.waitUntilDisconnected()
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        withExtendedLifetime(signals) {}
        if let signalled {
            logger.notice("Stopping", metadata: ["signal": "\(signalled == SIGINT ? "SIGINT" : "SIGTERM")"])
            await broker.stop()
        } else {
            logger.error("The bus connection closed; stopping")
            await broker.stop()
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

/// Signals as an async stream, delivered by dispatch sources after their default actions are turned off.
/// Not Sendable: it only keeps the sources alive, on the task that created it; `events` travels.
final class SignalStream {
    /// Each signal's number, as it arrives.
    let events: AsyncStream<Int32>
    private let sources: [any DispatchSourceSignal]

    init(_ numbers: [Int32]) {
        let (events, continuation) = AsyncStream.makeStream(of: Int32.self)
        self.events = events
        sources = numbers.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
    }
}
