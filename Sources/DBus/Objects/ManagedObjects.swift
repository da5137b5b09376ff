// SPDX-License-Identifier: Apache-2.0
/// GetManagedObjects from marshalled entries: each object's entry is marshalled when first needed after it
/// changed, and a manager's whole reply is kept until an object below it changes. Runs on the connection's queue.
extension ConnectionCore {
    static let managedObjectsSignature = "a{oa{sa{sv}}}"

    /// Forgets what was marshalled for the object at `path` and the replies of the managers above it.
    func objectChanged(at path: DBusObjectPath) {
        marshalledEntries[path] = nil
        guard !managedObjectsReplies.isEmpty else { return }
        for manager in managers where path.isDescendant(of: manager, orSelf: false) {
            managedObjectsReplies[manager] = nil
        }
    }

    /// The kept GetManagedObjects reply of the manager at `path`, built now if needed; nil when an object below
    /// it has a property read through a getter (its value may change at any time), which then takes the
    /// general path.
    func preparedManagedObjects(at path: DBusObjectPath) -> PreparedReply? {
        if let reply = managedObjectsReplies[path] { return reply }
        let paths = objects.keys.filter { $0.isDescendant(of: path, orSelf: false) }.sorted()
        var body = WireWriter()
        body.bytes.reserveCapacity(paths.reduce(8) { $0 + (marshalledEntries[$1]?.count ?? 1024) })
        do {
            try body.array(elementAlignment: 8) { (writer: inout WireWriter) throws(DBusError) in
                for objectPath in paths {
                    guard let entry = try marshalledEntry(at: objectPath) else { throw .failed("not stored") }
                    writer.pad(to: 8)
                    writer.bytes.append(contentsOf: entry)
                }
            }
        } catch {
            return nil
        }
        guard let reply = PreparedReply(body: body.bytes, signature: Self.managedObjectsSignature) else {
            logger.warning("libdbus refused a marshalled GetManagedObjects reply", metadata: ["path": "\(path)"])
            return nil
        }
        managedObjectsReplies[path] = reply
        return reply
    }

    /// The `{oa{sa{sv}}}` entry of the object at `path`; nil if one of its properties has a getter.
    func marshalledEntry(at path: DBusObjectPath) throws(DBusError) -> [UInt8]? {
        if let entry = marshalledEntries[path] { return entry }
        guard let interfaces = objects[path], let entry = try Self.entry(path, interfaces) else { return nil }
        marshalledEntries[path] = entry
        return entry
    }

    /// `path` and `interfaces` with their properties, `oa{sa{sv}}`: a GetManagedObjects entry, and the body of
    /// InterfacesAdded; nil if one of the properties has a getter.
    static func entry(_ path: DBusObjectPath, _ interfaces: [DBusInterface]) throws(DBusError) -> [UInt8]? {
        guard interfaces.allSatisfy(\.isStored) else { return nil }
        var writer = WireWriter()
        writer.string(path.rawValue)
        try writer.array(elementAlignment: 8) { (writer: inout WireWriter) throws(DBusError) in
            for interface in interfaces {
                writer.pad(to: 8)
                writer.string(interface.name)
                try writer.vardict(interface.properties.lazy.compactMap { property in property.value.map { (property.name, $0) } })
            }
        }
        return writer.bytes
    }
}
