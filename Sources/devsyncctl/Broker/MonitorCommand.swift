// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import DBus
import FoundationEssentials
import Glibc

/// `devsyncctl monitor`: one line per broker event until interrupted.
struct MonitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Print the broker's events as they happen, one per line, until interrupted.",
        discussion: """
            Events: device-added, device-removed, approval-requested, device-changed (status, present, owner), \
            job-started, job-changed (state, progress), job-finished, broker-started, broker-stopped. Each line \
            starts with a UTC timestamp; --json prints one JSON object per line. A line on standard error says \
            when the monitor is listening.
            """)

    @OptionGroup var bus: BusOptions

    /// One event, as printed.
    struct Event {
        var kind: String
        var subject: String
        var details: [(String, JSONValue)] = []
    }

    func run() async throws {
        try await reportingFailures {
            let client = try await bus.connect()
            // One subscription for the broker's signals and its name's owner changes, so that they are shown in
            // the order the bus delivered them (a job's end before the broker's exit).
            let events = try await client.connection.signals(matchingAny: [
                DBusMatchRule(sender: Broker.busName, pathNamespace: Broker.managerPath),
                .nameOwnerChanged(of: Broker.busName),
            ])
            var names: [DBusObjectPath: String] = [:]
            if try await client.brokerIsRunning() {
                for device in try await client.devices() { names[device.path] = device.uid }
            }
            Output.error("devsyncctl: monitoring \(Broker.busName); interrupt to stop")
            for await message in events {
                let event: Event?
                if let change = DBusNameOwnerChange(message) {
                    event = Event(kind: change.newOwner == nil ? "broker-stopped" : "broker-started", subject: Broker.busName)
                } else {
                    event = describe(message, names: &names)
                }
                if let event {
                    try print(event)
                    // A pipe is block-buffered; a reader waits for each event, not for a full buffer.
                    fflush(nil)
                }
            }
            throw BrokerFailure("the connection to the bus closed", status: ExitStatus.unavailable)
        }
    }

    /// The event a broker signal means, or nil for signals the monitor does not show; keeps `names` current.
    private func describe(_ message: DBusMessage, names: inout [DBusObjectPath: String]) -> Event? {
        guard let path = message.path, let member = message.member else { return nil }
        let arguments = message.arguments
        func uid(_ path: DBusObjectPath) -> String {
            names[path] ?? DBusObjectPath.unescapeElement(path.lastElement ?? path.rawValue)
        }
        switch (message.interface, member) {
        case (Broker.objectManagerInterface, "InterfacesAdded"):
            guard let object = arguments.first?.objectPath, case .dictionary(_, _, let interfaces)? = arguments.dropFirst().first
            else { return nil }
            if let device = interfaces[.string(Broker.deviceInterface)]?.stringDictionary {
                names[object] = device["Uid"]?.string
                return nil
            }
            if let job = interfaces[.string(Broker.jobInterface)]?.stringDictionary {
                return Event(kind: "job-started", subject: object.rawValue, details: [
                    ("device", .string(job["Device"]?.objectPath.map(uid) ?? "")),
                    ("action", .string(job["Action"]?.string ?? "")),
                ])
            }
            return nil
        case (Broker.managerInterface, "DeviceAdded"):
            guard let device = arguments.first?.objectPath else { return nil }
            return Event(kind: "device-added", subject: uid(device))
        case (Broker.managerInterface, "DeviceRemoved"):
            guard let device = arguments.first?.objectPath else { return nil }
            defer { names[device] = nil }
            return Event(kind: "device-removed", subject: uid(device))
        case (Broker.managerInterface, "ApprovalRequested"):
            guard let device = arguments.first?.objectPath else { return nil }
            return Event(kind: "approval-requested", subject: uid(device), details: [
                ("suggestedOwner", .string(arguments.dropFirst().first?.string ?? "")),
            ])
        case (Broker.propertiesInterface, "PropertiesChanged"):
            guard let changed = arguments.dropFirst().first?.stringDictionary else { return nil }
            switch arguments.first?.string {
            case Broker.deviceInterface:
                let shown = ["Status", "Present", "Owner"].compactMap { name in
                    changed[name].map { (name.lowerCamelCased, JSONValue($0)) }
                }
                return shown.isEmpty ? nil : Event(kind: "device-changed", subject: uid(path), details: shown)
            case Broker.jobInterface:
                let shown = ["State", "Progress", "Error"].compactMap { name in
                    changed[name].map { (name.lowerCamelCased, JSONValue($0)) }
                }
                return shown.isEmpty ? nil : Event(kind: "job-changed", subject: path.rawValue, details: shown)
            default: return nil
            }
        case (Broker.jobInterface, "Finished"):
            return Event(kind: "job-finished", subject: path.rawValue, details: [
                ("state", .string(arguments.first?.string ?? "")),
                ("error", .string(arguments.dropFirst().first?.string ?? "")),
            ])
        default: return nil
        }
    }

    private func print(_ event: Event) throws {
        let time = Self.timestamp()
        if bus.json {
            var object: [String: JSONValue] = ["time": .string(time), "event": .string(event.kind)]
            object[event.kind.hasPrefix("job") ? "job" : event.kind.hasPrefix("broker") ? "name" : "device"] =
                .string(event.subject)
            for (key, value) in event.details { object[key] = value }
            try Output.jsonLine(JSONValue.object(object))
            return
        }
        let details = event.details.map { key, value in "\(key)=\(value.text)" }.joined(separator: " ")
        Swift.print([time, event.kind, event.subject, details].filter { !$0.isEmpty }.joined(separator: "  "))
    }

    /// Now, as `2026-11-22T04:05:06.789Z`.
    static func timestamp() -> String {
        Date.now.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
