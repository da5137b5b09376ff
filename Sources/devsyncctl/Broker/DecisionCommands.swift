// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import DBus

/// What approve, reject and forget share: the device and whether polkit may prompt.
struct DecisionOptions: ParsableArguments {
    @Argument(help: "The device's uid, or a prefix of it that names one device.")
    var device: String

    @Flag(help: "Do not let polkit ask for a password; fail instead.")
    var noInteraction = false

    @OptionGroup var bus: BusOptions

    /// Calls `member` on the device and prints its state afterwards (the broker publishes it before replying).
    func decide(_ member: String, _ arguments: [DBusValue]) async throws {
        try await reportingFailures {
            let client = try await bus.connect()
            let before = try await client.device(device)
            _ = try await client.call(
                before.path, Broker.deviceInterface, member,
                arguments + [BrokerClient.options(noInteraction: noInteraction)])
            // A forgotten device that is not plugged in is gone from the bus.
            guard let after = try? await client.device(at: before.path) else {
                if bus.json {
                    try Output.json(JSONValue.object(["uid": .string(before.uid), "forgotten": .bool(true)]))
                } else {
                    print("\(before.uid): forgotten")
                }
                return
            }
            if bus.json {
                try Output.json(after.json)
            } else {
                print("\(after.uid): \(after.status)\(after.owner.isEmpty ? "" : " (owner \(after.owner))")")
            }
        }
    }
}

/// `devsyncctl approve DEVICE`: let the device be synced, for its owner.
struct ApproveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Approve a device for an owner.",
        discussion: "Needs the device's owner, root, or polkit's org.devsync.manage-devices.")

    @Option(help: ArgumentHelp("The owner's user name; by default, you.", valueName: "USER"))
    var owner: String = ""

    @OptionGroup var decision: DecisionOptions

    func run() async throws {
        try await decision.decide("Approve", [.string(owner)])
    }
}

/// `devsyncctl reject DEVICE`: the device stays rejected when plugged in again.
struct RejectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reject",
        abstract: "Reject a device; it stays rejected when plugged in again.")

    @OptionGroup var decision: DecisionOptions

    func run() async throws {
        try await decision.decide("Reject", [])
    }
}

/// `devsyncctl forget DEVICE`: drop the stored decision.
struct ForgetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget",
        abstract: "Forget a device's stored record; a present device becomes pending again.")

    @OptionGroup var decision: DecisionOptions

    func run() async throws {
        try await decision.decide("Forget", [])
    }
}
