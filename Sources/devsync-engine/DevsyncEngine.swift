// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import DBus
import DevsyncBuild
import Dispatch
import Glibc
import Logging
import PhotoImport
import SyncEngine
import SyncMLWork

/// `devsync-engine`: the user's sync engine. Registers with the devsync broker for the devices it can serve and
/// runs their syncs for real (docs/engine.md).
@main
struct DevsyncEngine: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devsync-engine",
        abstract: "Run the syncs of your devices that the devsync broker hands to you.",
        discussion: """
            Registers with org.devsync.Broker1 as an org.devsync.Engine1 engine of the user it runs as, and imports \
            photos and videos from cameras and phones (plugins ptp, mtp, ipod) through libgphoto2 into your \
            pictures directory, one folder per device, each file once; and syncs contacts, calendar, to-dos and notes \
            with SyncML phones (plugin syncml-obex-client) over Bluetooth through SyncEvolution. Settings: \
            $XDG_CONFIG_HOME/devsync/engine.conf (see devsync-engine(1)). Exits 0 after SIGTERM or SIGINT, 1 when \
            the broker refuses it or the bus connection closes, 64 for a wrong command line, 69 when the bus cannot \
            be reached, 78 for a mistake in the configuration file.
            """,
        version: BuildConfiguration.version)

    @Option(help: ArgumentHelp(
        "The bus the broker is on: system (honours DBUS_SYSTEM_BUS_ADDRESS), session, or a D-Bus address.",
        valueName: "system|session|ADDRESS"))
    var bus: String = "system"

    @Option(help: ArgumentHelp("The configuration file (default: $XDG_CONFIG_HOME/devsync/engine.conf).", valueName: "FILE"))
    var config: String?

    @Option(help: ArgumentHelp("trace, debug, info, notice, warning, error or critical.", valueName: "LEVEL"))
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        var logger = Logger(label: "devsync-engine") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let directories = UserDirectories.current()
        let configurationFile = config ?? directories.configurationFile
        let settings: EngineConfiguration
        do {
            settings = try EngineConfiguration.load(configurationFile, directories: directories)
        } catch {
            Self.fail("devsync-engine: \(error)", status: 78)
        }
        let works: [any SyncWork] = [
            PhotoImportWork(
                importDirectory: settings.importDirectory ?? directories.picturesDirectory(),
                ledgerDirectory: directories.ledgerDirectory, cameraPort: settings.testCameraPort,
                pauseAfterEachFile: settings.testPauseAfterEachFile, logger: logger),
            SyncMLWork(
                logger: logger, storeDirectory: settings.testSyncMLStore, testContext: settings.testSyncMLContext),
        ]

        let connection: DBusConnection
        do {
            connection = switch bus {
            case "system": try await .system(logger: logger)
            case "session": try await .session(logger: logger)
            default: try await .connect(to: bus, logger: logger)
            }
        } catch let error as DBusError {
            Self.fail("devsync-engine: cannot reach the \(bus == "system" || bus == "session" ? "\(bus) bus" : "bus at \(bus)"): \(error.message)", status: 69)
        }
        let engine = EngineService(
            connection: connection, works: works, automaticActions: settings.automaticActions, logger: logger)
        logger.info(
            "devsync-engine started",
            metadata: ["version": "\(BuildConfiguration.version)", "configuration": "\(configurationFile)",
                       "automatic": "\(settings.automaticActions.joined(separator: ","))"])

        // SIGTERM and SIGINT stop it; a launcher may have handed them over blocked.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        var sources: [any DispatchSourceSignal] = []
        let signalQueue = DispatchQueue(label: "devsync-engine.signals")
        for signalNumber in [SIGTERM, SIGINT] {
            sigaddset(&stopSignals, signalNumber)
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: signalQueue)
            source.setEventHandler { Task { await engine.stop() } }
            source.resume()
            sources.append(source)
        }
        pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)

        do {
            try await engine.run()
        } catch let failure as EngineFailure {
            Self.fail("devsync-engine: \(failure.sentence)", status: 1)
        }
        for source in sources { source.cancel() }
        logger.info("devsync-engine stopped")
    }

    /// Prints `message` and exits with `status`.
    static func fail(_ message: String, status: Int32) -> Never {
        FileHandleOutput.error(message)
        Glibc.exit(status)
    }
}

/// Writes whole lines to stderr.
enum FileHandleOutput {
    static func error(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
