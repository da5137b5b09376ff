// SPDX-License-Identifier: Apache-2.0
import DBus
import DeviceRegistry

/// A sync engine registered with RegisterEngine: where it lives on the bus, whose it is, and what it syncs.
struct SyncEngine: Sendable {
    /// An engine is named by its connection and the object it registered.
    struct Key: Hashable, Sendable, CustomStringConvertible {
        /// The engine's unique bus name.
        var sender: String
        /// The object implementing org.devsync.Engine1.
        var path: DBusObjectPath

        var description: String { "\(sender)\(path)" }
    }

    var key: Key
    /// The uid the engine runs as; it only gets devices owned by this uid.
    var uid: UInt32
    /// The plugins it handles; empty means any.
    var plugins: [String]
    /// The data types it handles; empty means any.
    var datatypes: [String]

    /// Whether it syncs devices of `plugin`.
    func handles(plugin: String) -> Bool { plugins.isEmpty || plugins.contains(plugin) }

    /// Whether it can run `action`: the action names no data type, or the engine syncs one of them.
    func runs(_ action: SyncAction) -> Bool { action.datatypes.isEmpty || !datatypes(of: action.datatypes).isEmpty }

    /// The data types of `wanted` it can sync: all of them when it named none.
    func datatypes(of wanted: [String]) -> [String] {
        datatypes.isEmpty ? wanted : wanted.filter { datatypes.contains($0) }
    }
}

/// A sync started through Invoke and its progress, as the `org.devsync.Broker1.Job` object shows it.
struct SyncJob: Sendable {
    /// What the job is doing; the strings are the `State` property's values.
    enum State: String, Sendable {
        case running, succeeded, failed, cancelled
    }

    var path: DBusObjectPath
    var deviceUID: String
    var devicePath: DBusObjectPath
    var action: String
    /// The device's owner when the job started; Cancel needs the same rights as Invoke.
    var owner: String?
    var engine: SyncEngine.Key
    var state: State = .running
    var progress: Double = 0
    /// The engine's latest progress message; after a success, its summary.
    var message: String = ""
    var error: String = ""

    /// The job's properties on the bus.
    var properties: [String: DBusValue] {
        [
            "Device": .objectPath(devicePath), "Action": .string(action), "State": .string(state.rawValue),
            "Progress": .double(progress), "Message": .string(message), "Error": .string(error),
        ]
    }
}
