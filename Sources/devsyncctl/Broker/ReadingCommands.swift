// SPDX-License-Identifier: Apache-2.0
import ArgumentParser

/// `devsyncctl list`: every device the broker knows, present or not.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the devices the broker knows, present or not.",
        discussion: "Columns: uid, vendor and model, kind, plugin, status, present, owner. --json prints every property.")

    @OptionGroup var bus: BusOptions

    func run() async throws {
        try await reportingFailures {
            let client = try await bus.connect()
            let devices = try await client.devices()
            if bus.json {
                try Output.json(JSONValue.array(devices.map(\.json)))
                return
            }
            let rows = devices.map { device in
                [device.uid, device.name.isEmpty ? "-" : device.name, device.kind.isEmpty ? "-" : device.kind,
                 device.plugin.isEmpty ? "-" : device.plugin, device.status, device.present ? "yes" : "no",
                 device.owner.isEmpty ? "-" : device.owner]
            }
            if Output.isTerminal && rows.isEmpty {
                print("No devices.")
                return
            }
            Output.table(
                rows, header: Output.isTerminal ? ["UID", "DEVICE", "KIND", "PLUGIN", "STATUS", "PRESENT", "OWNER"] : nil)
        }
    }
}

/// `devsyncctl info DEVICE`: every property of one device, its actions and its merged device properties.
struct InfoCommand: DeviceReadingCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show every property of a device, its sync actions and its device properties.")

    @Argument(help: "The device's uid, or a prefix of it that names one device.")
    var device: String

    @OptionGroup var bus: BusOptions

    func json(_ device: Device) throws { try Output.json(device.json) }

    func show(_ device: Device) {
        print(device.uid)
        let fields: [(String, String)] = [
            ("vendor", device.vendor), ("model", device.model), ("kind", device.kind),
            ("transport", device.transport), ("plugin", device.plugin),
            ("data types", device.dataTypes.joined(separator: ", ")), ("status", device.status),
            ("owner", device.owner.isEmpty ? "-" : device.owner), ("present", device.present ? "yes" : "no"),
            ("stable id", device.stableId ? "yes" : "no"), ("first seen", Output.date(device.firstSeen)),
            ("last seen", Output.date(device.lastSeen)), ("profile", device.profile),
            ("object", device.path.rawValue),
        ]
        Output.table(fields.map { ["  \($0.0):", $0.1] })
        print("actions:")
        if device.actions.isEmpty { print("  (none)") }
        Output.table(device.actions.map { action in
            var row = action.row(available: "available", unavailable: "unavailable")
            row[0] = "  " + row[0]
            return row
        })
        print("properties:")
        for (key, value) in device.displayedProperties { print("  \(key) = \(value)") }
    }
}

/// `devsyncctl actions DEVICE`: the sync actions a device offers.
struct ActionsCommand: DeviceReadingCommand {
    static let configuration = CommandConfiguration(
        commandName: "actions",
        abstract: "List a device's sync actions and whether an engine can run them.",
        discussion: "An action is available when a sync engine of the device's owner handles its plugin.")

    @Argument(help: "The device's uid, or a prefix of it that names one device.")
    var device: String

    @OptionGroup var bus: BusOptions

    func json(_ device: Device) throws { try Output.json(device.actions) }

    func show(_ device: Device) {
        Output.table(
            device.actions.map { $0.row(available: "yes", unavailable: "no") },
            header: Output.isTerminal ? ["ACTION", "LABEL", "DATA TYPES", "AVAILABLE"] : nil)
    }
}

/// A verb that shows one device, named by its uid or a unique prefix: as JSON with `--json`, else for people.
protocol DeviceReadingCommand: AsyncParsableCommand {
    var device: String { get }
    var bus: BusOptions { get }
    func json(_ device: Device) throws
    func show(_ device: Device)
}

extension DeviceReadingCommand {
    func run() async throws {
        try await reportingFailures {
            let client = try await bus.connect()
            let device = try await client.device(self.device)
            if bus.json { try json(device) } else { show(device) }
        }
    }
}

extension Device.Action {
    /// The action as a table row: id, label, data types and whether an engine can run it, in the given words.
    func row(available: String, unavailable: String) -> [String] {
        [id, label, dataTypes.joined(separator: ","), self.available ? available : unavailable]
    }
}
