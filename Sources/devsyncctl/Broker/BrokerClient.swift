// SPDX-License-Identifier: Apache-2.0
import DBus

/// The names of `org.devsync.Broker1`, as data/org.devsync.Broker1.xml declares them.
///
/// Repeated here rather than imported from BusService so the client links only the binding.
enum Broker {
    static let busName = "org.devsync.Broker1"
    static let managerPath = try! DBusObjectPath("/org/devsync/Broker1")
    static let devicesPath = try! DBusObjectPath("/org/devsync/Broker1/devices")
    static let jobsPath = try! DBusObjectPath("/org/devsync/Broker1/jobs")
    static let managerInterface = "org.devsync.Broker1.Manager"
    static let deviceInterface = "org.devsync.Broker1.Device"
    static let jobInterface = "org.devsync.Broker1.Job"
    static let propertiesInterface = "org.freedesktop.DBus.Properties"
    static let objectManagerInterface = "org.freedesktop.DBus.ObjectManager"
    static let noUserInteractionOption = "auth.no_user_interaction"
}

/// A connection to the bus, speaking to the broker.
struct BrokerClient: Sendable {
    let connection: DBusConnection

    /// Calls a broker method; every error reply becomes a ``BrokerFailure``.
    func call(
        _ path: DBusObjectPath, _ interface: String, _ member: String, _ arguments: [DBusValue] = []
    ) async throws -> [DBusValue] {
        do {
            return try await connection.call(
                destination: Broker.busName, path: path, interface: interface, member: member, arguments: arguments)
        } catch let error as DBusError {
            throw BrokerFailure(error)
        }
    }

    /// Every device the broker knows, in uid order, from one GetManagedObjects call.
    func devices() async throws -> [Device] {
        let reply = try await call(Broker.managerPath, Broker.objectManagerInterface, "GetManagedObjects")
        guard case .dictionary(_, _, let objects)? = reply.first else {
            throw BrokerFailure("the broker sent an unexpected reply to GetManagedObjects")
        }
        return objects.compactMap { path, interfaces in
            guard let path = path.objectPath, let properties = interfaces[Broker.deviceInterface]?.stringDictionary
            else { return nil }
            return Device(path: path, properties: properties)
        }.sorted { $0.uid < $1.uid }
    }

    /// The path of the device named by `uid` or a unique prefix of one.
    func devicePath(_ uid: String) async throws -> DBusObjectPath {
        let reply = try await call(Broker.managerPath, Broker.managerInterface, "DeviceByUid", [.string(uid)])
        guard let path = reply.first?.objectPath else { throw BrokerFailure("the broker sent no device path") }
        return path
    }

    /// Every property of the device named by `uid` or a unique prefix of one.
    func device(_ uid: String) async throws -> Device {
        try await device(at: devicePath(uid))
    }

    /// Every property of the device at `path`.
    func device(at path: DBusObjectPath) async throws -> Device {
        Device(path: path, properties: try await properties(of: path, Broker.deviceInterface))
    }

    /// GetAll of `interface` on `path`.
    func properties(of path: DBusObjectPath, _ interface: String) async throws -> [String: DBusValue] {
        let reply = try await call(path, Broker.propertiesInterface, "GetAll", [.string(interface)])
        return reply.first?.stringDictionary ?? [:]
    }

    /// Whether the broker's name has an owner.
    func brokerIsRunning() async throws -> Bool {
        do {
            return try await connection.nameOwner(of: Broker.busName) != nil
        } catch let error as DBusError {
            throw BrokerFailure(error)
        }
    }

    /// The trailing `a{sv} options` of a mutating call.
    static func options(noInteraction: Bool) -> DBusValue {
        .vardict(noInteraction ? [Broker.noUserInteractionOption: .bool(true)] : [:])
    }
}
