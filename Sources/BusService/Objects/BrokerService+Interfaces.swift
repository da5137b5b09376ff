// SPDX-License-Identifier: Apache-2.0
import DBus
import DeviceRegistry

/// The interfaces the broker exports, as `data/org.devsync.Broker1.xml` declares them.
extension BrokerService {
    /// A method whose handler runs on the service; a ``BrokerError`` it throws becomes the contract's error reply.
    nonisolated func method(
        _ name: String, inputs: [DBusArgument] = [], outputs: [DBusArgument] = [],
        _ body: @escaping @Sendable (BrokerService, DBusMethodCall) async throws -> [DBusValue]
    ) -> DBusMethod {
        DBusMethod(name, inputs: inputs, outputs: outputs) { [weak self] call in
            guard let self else { throw BrokerError(.failed, "The broker is shutting down; try again.").dbusError }
            do {
                return try await body(self, call)
            } catch let error as BrokerError {
                throw error.dbusError
            }
        }
    }

    nonisolated func managerInterface() -> DBusInterface {
        let version = BrokerContract.version
        let policy = policy.rawValue
        let daemonVersion = daemonVersion
        return DBusInterface(
            BrokerContract.managerInterface,
            methods: [
                method("ListDevices", outputs: [DBusArgument("devices", "ao")]) { service, _ in
                    await service.listDevices()
                },
                method(
                    "DeviceByUid", inputs: [DBusArgument("uid", .string)], outputs: [DBusArgument("device", .objectPath)]
                ) { service, call in
                    try await service.deviceByUID(call.arguments[0].string ?? "")
                },
                method(
                    "ReloadProfiles", inputs: [DBusArgument("options", "a{sv}")],
                    outputs: [DBusArgument("rules", .uint32), DBusArgument("errors", "as")]
                ) { service, call in
                    try await service.reloadProfiles(call)
                },
                method(
                    "RegisterEngine",
                    inputs: [
                        DBusArgument("engine", .objectPath), DBusArgument("plugins", "as"),
                        DBusArgument("datatypes", "as"),
                    ]
                ) { service, call in
                    try await service.registerEngine(call)
                },
                method("UnregisterEngine", inputs: [DBusArgument("engine", .objectPath)]) { service, call in
                    try await service.unregisterEngine(call)
                },
            ],
            properties: [
                // All fixed for the broker's lifetime: a change of policy needs a restart.
                DBusProperty("Version", type: .uint32) { .uint32(version) }.emitting(.const),
                DBusProperty("Policy", type: .string) { .string(policy) }.emitting(.const),
                DBusProperty("DaemonVersion", type: .string) { .string(daemonVersion) }.emitting(.const),
            ],
            signals: [
                DBusSignalDeclaration("DeviceAdded", arguments: [DBusArgument("device", .objectPath)]),
                DBusSignalDeclaration("DeviceRemoved", arguments: [DBusArgument("device", .objectPath)]),
                DBusSignalDeclaration(
                    "ApprovalRequested",
                    arguments: [DBusArgument("device", .objectPath), DBusArgument("suggested_owner", .string)]),
            ])
    }

    /// A Device interface, its properties stored with `values`
    /// (``DeviceObject/properties(of:availableActions:suggestedOwner:)``) and its methods `methods`
    /// (``deviceMethods()``), one array that every device object shares.
    nonisolated func deviceInterface(values: [String: DBusStoredValue], methods: [DBusMethod]) -> DBusInterface {
        DBusInterface(
            BrokerContract.deviceInterface,
            methods: methods,
            properties: DeviceObject.declarations.map { property in property.storing(values[property.name]!) })
    }

    /// The Device interface's methods. They find their device by the path the call was addressed to, so one
    /// array serves every device object: per device it would cost four closures and their argument lists, about
    /// a kilobyte each time (docs/benchmarks.md, "Memory per device").
    nonisolated func deviceMethods() -> [DBusMethod] {
        let options = DBusArgument("options", "a{sv}")
        return [
            method("Approve", inputs: [DBusArgument("owner", .string), options]) { service, call in
                try await service.approve(uid: deviceUID(of: call), call)
            },
            method("Reject", inputs: [options]) { service, call in
                try await service.reject(uid: deviceUID(of: call), call)
            },
            method("Forget", inputs: [options]) { service, call in
                try await service.forget(uid: deviceUID(of: call), call)
            },
            method(
                "Invoke", inputs: [DBusArgument("action", .string), options],
                outputs: [DBusArgument("job", .objectPath)]
            ) { service, call in
                try await service.invoke(uid: deviceUID(of: call), call)
            },
        ]
    }

    /// The Job interface at `path`, its properties stored with `values` (``SyncJob/properties``).
    nonisolated func jobInterface(path: DBusObjectPath, values: [String: DBusValue]) -> DBusInterface {
        // A job is for one device and one action; its progress is signalled as it changes.
        let types: [(String, DBusType, DBusProperty.EmitsChangedSignal)] = [
            ("Device", .objectPath, .const), ("Action", .string, .const), ("State", .string, .true),
            ("Progress", .double, .true), ("Message", .string, .true), ("Error", .string, .true),
        ]
        return DBusInterface(
            BrokerContract.jobInterface,
            methods: [
                method("Cancel", inputs: [DBusArgument("options", "a{sv}")]) { service, call in
                    try await service.cancel(job: path, call)
                }
            ],
            properties: types.map { name, type, emits in
                DBusProperty(name, type: type, value: values[name]!).emitting(emits)
            },
            signals: [
                DBusSignalDeclaration(
                    "Finished", arguments: [DBusArgument("state", .string), DBusArgument("error", .string)])
            ])
    }
}

/// The uid of the device a Device method was called on: its path's last element, unescaped
/// (``BrokerContract/devicePath(uid:)``); the binding routes only calls to exported device objects here.
func deviceUID(of call: DBusMethodCall) -> String {
    DBusObjectPath.unescapeElement(call.path.lastElement ?? "")
}

/// The trailing `a{sv} options` of a call.
func options(of call: DBusMethodCall) -> [String: DBusValue] {
    call.arguments.last?.stringDictionary ?? [:]
}
