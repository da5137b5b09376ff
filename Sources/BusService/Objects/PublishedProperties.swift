import DBus
import Synchronization

/// The current property values of every exported device and job object.
///
/// Property getters read it from whatever task the binding runs them on, without a hop to the broker's actor,
/// so that `GetManagedObjects` over a thousand devices stays a matter of dictionary look-ups.
final class PublishedProperties: Sendable {
    private let objects = Mutex<[DBusObjectPath: [String: DBusValue]]>([:])

    /// The value of property `name` of the object at `path`.
    func value(at path: DBusObjectPath, _ name: String) throws(DBusError) -> DBusValue {
        guard let value = objects.withLock({ $0[path]?[name] }) else {
            throw DBusError(name: DBusError.Name.unknownObject, message: "The object \(path) is gone.")
        }
        return value
    }

    /// Whether an object is published at `path`.
    func contains(_ path: DBusObjectPath) -> Bool { objects.withLock { $0[path] != nil } }

    /// Publishes `values` for `path` and returns those that differ from what was published before.
    @discardableResult
    func replace(at path: DBusObjectPath, with values: [String: DBusValue]) -> [String: DBusValue] {
        objects.withLock { objects in
            let old = objects[path] ?? [:]
            objects[path] = values
            return values.filter { old[$0.key] != $0.value }
        }
    }

    /// Forgets the object at `path`.
    func remove(at path: DBusObjectPath) {
        _ = objects.withLock { $0.removeValue(forKey: path) }
    }
}
