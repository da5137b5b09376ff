// SPDX-License-Identifier: Apache-2.0
/// Routing of incoming calls to exported objects and the standard interfaces. Runs on the connection's queue;
/// the work it hands out runs in tasks and only sees Sendable snapshots of the object tree.
extension ConnectionCore {
    /// The names of the direct children of `path`, from every exported object and manager below it.
    func children(of path: DBusObjectPath) -> [String] {
        let depth = path.elements.count
        var names: Set<String> = []
        for candidate in objects.keys where candidate.isDescendant(of: path, orSelf: false) {
            names.insert(candidate.elements[depth])
        }
        for candidate in managers where candidate.isDescendant(of: path, orSelf: false) {
            names.insert(candidate.elements[depth])
        }
        return names.sorted()
    }

    /// The manager whose subtree holds `path`, if any (the nearest one above it).
    func manager(of path: DBusObjectPath) -> DBusObjectPath? {
        // The nearest manager above `path`: the longest of the (few) managers that are its ancestors. Walking up
        // by `parent` built a new path string for every element, on every export.
        var nearest: DBusObjectPath?
        for manager in managers where path.isDescendant(of: manager, orSelf: false) {
            if manager.rawValue.utf8.count > nearest?.rawValue.utf8.count ?? -1 { nearest = manager }
        }
        return nearest
    }

    func route(_ message: DBusMessage, connection: DBusConnection) -> Route {
        let path = message.path ?? .root
        let member = message.member ?? ""
        let interfaceName = message.interface
        let interfaces = objects[path]

        if member == "Introspect", interfaceName == nil || interfaceName == Introspection.introspectable {
            let children = children(of: path)
            guard interfaces != nil || !children.isEmpty || managers.contains(path) || path == .root else {
                return .immediate(.failure(Self.unknownObject(path)))
            }
            let xml = Introspection.document(
                interfaces: interfaces, isManager: managers.contains(path), children: children)
            return .immediate(.success([.string(xml)]))
        }
        if interfaceName == Introspection.peer {
            if member == "Ping", message.arguments.isEmpty { return .immediate(.success([])) }
            return .immediate(.failure(Self.unknownMethod(Introspection.peer, member)))
        }
        if interfaceName == Introspection.objectManager, member == "GetManagedObjects", managers.contains(path) {
            if let reply = preparedManagedObjects(at: path) { return .prepared(reply) }
            let snapshot = objects.filter { $0.key.isDescendant(of: path, orSelf: false) }
            return .work { [.dictionary(key: .objectPath, value: Self.interfacesAndPropertiesType, await Self.managedObjects(snapshot))] }
        }
        guard let interfaces else {
            return .immediate(.failure(Self.unknownObject(path)))
        }
        if interfaceName == Introspection.properties {
            return routeProperties(message, path: path, interfaces: interfaces, connection: connection)
        }

        let method: DBusMethod
        if let interfaceName {
            guard let interface = interfaces.first(where: { $0.name == interfaceName }) else {
                return .immediate(.failure(Self.unknownInterface(interfaceName, at: path)))
            }
            guard let found = interface.methods.first(where: { $0.name == member }) else {
                return .immediate(.failure(Self.unknownMethod(interfaceName, member)))
            }
            method = found
        } else {
            guard let found = interfaces.lazy.flatMap(\.methods).first(where: { $0.name == member }) else {
                return .immediate(.failure(DBusError(
                    name: DBusError.Name.unknownMethod, message: "Object '\(path)' has no method '\(member)'")))
            }
            method = found
        }
        guard message.signature == method.inputSignature else {
            return .immediate(.failure(.invalidArgs(
                "Method '\(member)' takes arguments of signature '\(method.inputSignature)', but the call carried '\(message.signature)'")))
        }
        let call = DBusMethodCall(message: message, connection: connection)
        return .work {
            let values = try await method.handler(call)
            guard values.signature == method.outputSignature else {
                throw DBusError.failed(
                    "the handler of '\(member)' returned signature '\(values.signature)' instead of '\(method.outputSignature)'")
            }
            return values
        }
    }

    private func routeProperties(
        _ message: DBusMessage, path: DBusObjectPath, interfaces: [DBusInterface], connection: DBusConnection
    ) -> Route {
        let member = message.member ?? ""
        func find(_ interfaceName: String) -> Result<DBusInterface, DBusError> {
            guard let interface = interfaces.first(where: { $0.name == interfaceName }) else {
                return .failure(Self.unknownInterface(interfaceName, at: path))
            }
            return .success(interface)
        }
        func property(_ interfaceName: String, _ name: String) -> Result<DBusProperty, DBusError> {
            find(interfaceName).flatMap { interface in
                guard let property = interface.properties.first(where: { $0.name == name }) else {
                    return .failure(Self.unknownProperty(name, of: interfaceName))
                }
                return .success(property)
            }
        }
        do {
            switch member {
            case "Get":
                let (interfaceName, name) = try message.arguments.decode(String.self, String.self)
                let property = try property(interfaceName, name).get()
                if let value = property.value { return .immediate(.success([.variant(value)])) }
                guard let get = property.get else {
                    throw DBusError(
                        name: DBusError.Name.accessDenied, message: "Property '\(name)' of '\(interfaceName)' is write-only")
                }
                return .work { [.variant(try await Self.read(property, get))] }
            case "GetAll":
                let interface = try find(try message.arguments.decode(String.self)).get()
                if interface.isStored { return .immediate(.success([Self.propertiesDictionary(Self.storedValues(interface))])) }
                return .work { [Self.propertiesDictionary(await Self.readAll(interface))] }
            case "Set":
                let (interfaceName, name, value) = try message.arguments.decode(String.self, String.self, DBusValue.self)
                let property = try property(interfaceName, name).get()
                guard let set = property.set else {
                    throw DBusError(
                        name: DBusError.Name.propertyReadOnly, message: "Property '\(name)' of '\(interfaceName)' is read-only")
                }
                guard value.type == property.type else {
                    throw DBusError.invalidArgs(
                        "Property '\(name)' has type '\(property.type)', not '\(value.signature)'")
                }
                let call = DBusMethodCall(message: message, connection: connection)
                return .work { [self] in
                    try await property.authorizeSet?(call)
                    try await set(value)
                    queue.async { [self] in
                        try? emit(Self.propertiesChanged(path: path, interface: interfaceName, changed: [name: value], invalidated: []))
                    }
                    return []
                }
            default:
                return .immediate(.failure(Self.unknownMethod(Introspection.properties, member)))
            }
        } catch {
            return .immediate(.failure(error as? DBusError ?? .failed("\(error)")))
        }
    }

    static func unknownObject(_ path: DBusObjectPath) -> DBusError {
        DBusError(name: DBusError.Name.unknownObject, message: "No object is exported at path '\(path)'")
    }

    static func unknownMethod(_ interface: String, _ member: String) -> DBusError {
        DBusError(name: DBusError.Name.unknownMethod, message: "Interface '\(interface)' has no method '\(member)'")
    }

    static func unknownInterface(_ interface: String, at path: DBusObjectPath) -> DBusError {
        DBusError(name: DBusError.Name.unknownInterface, message: "Object '\(path)' does not implement interface '\(interface)'")
    }

    static func unknownProperty(_ name: String, of interface: String) -> DBusError {
        DBusError(name: DBusError.Name.unknownProperty, message: "Interface '\(interface)' has no property '\(name)'")
    }

    static let interfacesAndPropertiesType = DBusType.dictionary(
        key: .string, value: .dictionary(key: .string, value: .variant))

    static func read(_ property: DBusProperty, _ get: DBusProperty.Getter) async throws -> DBusValue {
        let value = try await get()
        guard value.type == property.type else {
            throw DBusError.failed("property '\(property.name)' produced type '\(value.signature)' instead of '\(property.type)'")
        }
        return value
    }

    /// The stored values of an interface's properties.
    static func storedValues(_ interface: DBusInterface) -> [String: DBusValue] {
        var values: [String: DBusValue] = [:]
        for property in interface.properties {
            if let value = property.value { values[property.name] = value }
        }
        return values
    }

    /// Every readable property of an interface; one that fails to read is left out rather than failing the rest.
    static func readAll(_ interface: DBusInterface) async -> [String: DBusValue] {
        var values: [String: DBusValue] = [:]
        for property in interface.properties {
            if let value = property.value {
                values[property.name] = value
                continue
            }
            guard let get = property.get, let value = try? await read(property, get) else { continue }
            values[property.name] = value
        }
        return values
    }

    static func propertiesDictionary(_ values: [String: DBusValue]) -> DBusValue {
        .vardict(values)
    }

    static func interfacesAndProperties(_ interfaces: [DBusInterface]) async -> DBusValue {
        var entries: [DBusValue: DBusValue] = [:]
        for interface in interfaces {
            entries[.string(interface.name)] = propertiesDictionary(await readAll(interface))
        }
        return .dictionary(key: .string, value: .dictionary(key: .string, value: .variant), entries)
    }

    static func managedObjects(_ snapshot: [DBusObjectPath: [DBusInterface]]) async -> [DBusValue: DBusValue] {
        var entries: [DBusValue: DBusValue] = [:]
        for (path, interfaces) in snapshot {
            entries[.objectPath(path)] = await interfacesAndProperties(interfaces)
        }
        return entries
    }

    static func propertiesChanged(
        path: DBusObjectPath, interface: String, changed: [String: DBusValue], invalidated: [String]
    ) -> DBusSignalEmission {
        DBusSignalEmission(
            path: path, interface: Introspection.properties, member: "PropertiesChanged",
            arguments: [.string(interface), propertiesDictionary(changed), .strings(invalidated)])
    }
}
