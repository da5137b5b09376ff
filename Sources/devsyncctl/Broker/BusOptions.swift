// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import DBus
import Logging

/// The options every broker verb shares: which bus, and JSON or text.
struct BusOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The bus the broker is on: system (honours DBUS_SYSTEM_BUS_ADDRESS), session, or a D-Bus address.",
        valueName: "system|session|ADDRESS"))
    var bus: String = "system"

    @Flag(help: "Print JSON for scripts.")
    var json = false

    /// Connects to the chosen bus; an unreachable bus is EX_UNAVAILABLE.
    func connect() async throws -> BrokerClient {
        var logger = Logger(label: "devsyncctl", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .critical
        do {
            let connection: DBusConnection =
                switch bus {
                case "system": try await .system(logger: logger)
                case "session": try await .session(logger: logger)
                default: try await .connect(to: bus, logger: logger)
                }
            return BrokerClient(connection: connection)
        } catch let error as DBusError {
            throw BrokerFailure("cannot reach the \(busDescription): \(error.message)", status: ExitStatus.unavailable)
        }
    }

    private var busDescription: String {
        switch bus {
        case "system", "session": "\(bus) bus"
        default: "bus at \(bus)"
        }
    }
}
