// SPDX-License-Identifier: Apache-2.0
import DBus

/// The BlueZ names the watcher speaks: bus name, interfaces, and the object that lists everything.
enum BlueZ {
    static let busName = "org.bluez"
    static let deviceInterface = "org.bluez.Device1"
    static let adapterInterface = "org.bluez.Adapter1"
    static let objectManager = "org.freedesktop.DBus.ObjectManager"
    static let properties = "org.freedesktop.DBus.Properties"
}

extension BlueZDevice {
    /// A device from the `Device1` properties of GetManagedObjects or InterfacesAdded; nil without an address.
    init?(objectPath: String, properties: [String: DBusValue]) {
        guard let address = properties["Address"]?.string else { return nil }
        self.init(address: address)
        // The path names the adapter too; BlueZ always sends `Adapter`, a mock or an old release may not.
        adapter = DBusObjectPath.parentText(of: objectPath)
        for change in Self.changes(properties, invalidated: []) { apply(change) }
    }

    /// The `Device1` properties devsync reads, from a PropertiesChanged `a{sv}` and its invalidated names.
    ///
    /// Values of the wrong type are skipped rather than trusted: a mock or a broken stack can send anything.
    static func changes(_ changed: [String: DBusValue], invalidated: [String]) -> [Property] {
        var result: [Property] = []
        for (name, value) in changed {
            switch name {
            case "Address": if let text = value.string { result.append(.address(text)) }
            case "Name": if let text = value.string { result.append(.name(text)) }
            case "Alias": if let text = value.string { result.append(.alias(text)) }
            case "Class": if let raw = value.uint32 { result.append(.deviceClass(raw)) }
            case "UUIDs":
                if let items = value.arrayElements { result.append(.uuids(items.compactMap(\.string))) }
            // BlueZ omits Modalias when there is no Device ID record; an empty one means the same.
            case "Modalias": if let text = value.string { result.append(.modalias(text.isEmpty ? nil : text)) }
            case "Paired": if let flag = value.bool { result.append(.paired(flag)) }
            case "Connected": if let flag = value.bool { result.append(.connected(flag)) }
            case "Trusted": if let flag = value.bool { result.append(.trusted(flag)) }
            case "Blocked": if let flag = value.bool { result.append(.blocked(flag)) }
            case "Adapter": if let path = value.objectPath { result.append(.adapter(path.rawValue)) }
            default: break
            }
        }
        for name in invalidated {
            switch name {
            case "Name": result.append(.name(nil))
            case "Alias": result.append(.alias(nil))
            case "Class": result.append(.deviceClass(nil))
            case "UUIDs": result.append(.uuids([]))
            case "Modalias": result.append(.modalias(nil))
            default: break
            }
        }
        return result
    }
}

extension DBusObjectPath {
    /// The parent of a path given as text, `/org/bluez/hci0` for `/org/bluez/hci0/dev_00_1A_7D_DA_71_13`.
    static func parentText(of path: String) -> String? {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return nil }
        return String(path[..<slash])
    }
}
