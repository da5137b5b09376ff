// SPDX-License-Identifier: Apache-2.0
internal import CDBus

/// Validation of the names D-Bus messages carry, checked before use because libdbus aborts on invalid ones.
public enum DBusNames {
    /// Whether `name` is a valid interface name, such as `org.devsync.Broker1`.
    public static func isValidInterface(_ name: String) -> Bool {
        check(name, dbus_validate_interface)
    }

    /// Whether `name` is a valid member (method, signal or property) name, such as `ListDevices`.
    public static func isValidMember(_ name: String) -> Bool {
        check(name, dbus_validate_member)
    }

    /// Whether `name` is a valid unique (`:1.42`) or well-known (`org.devsync.Broker1`) bus name.
    public static func isValidBusName(_ name: String) -> Bool {
        check(name, dbus_validate_bus_name)
    }

    /// Whether `name` is a valid error name, such as `org.devsync.Broker1.Error.NotAuthorized`.
    public static func isValidErrorName(_ name: String) -> Bool {
        check(name, dbus_validate_error_name)
    }

    static func requireInterface(_ name: String) throws(DBusError) {
        guard isValidInterface(name) else { throw .invalidArgs("'\(name)' is not a valid D-Bus interface name") }
    }

    static func requireMember(_ name: String) throws(DBusError) {
        guard isValidMember(name) else { throw .invalidArgs("'\(name)' is not a valid D-Bus member name") }
    }

    static func requireBusName(_ name: String) throws(DBusError) {
        guard isValidBusName(name) else { throw .invalidArgs("'\(name)' is not a valid D-Bus bus name") }
    }

    private static func check(
        _ name: String,
        _ validate: (UnsafePointer<CChar>?, UnsafeMutablePointer<CDBus.DBusError>?) -> dbus_bool_t
    ) -> Bool {
        // A NUL would truncate the C string and let an invalid name pass.
        guard !name.utf8.contains(0) else { return false }
        var error = CDBus.DBusError()
        dbus_error_init(&error)
        defer { dbus_error_free(&error) }
        return validate(name, &error) != 0
    }
}
