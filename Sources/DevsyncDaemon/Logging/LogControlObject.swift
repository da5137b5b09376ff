// SPDX-License-Identifier: Apache-2.0
import DBus
import Logging

/// systemd's `org.freedesktop.LogControl1` at `/org/freedesktop/LogControl1`, on the broker's connection, so that
/// `systemctl service-log-level devsyncd debug` (and `service-log-target`) change devsyncd's logging at run time.
///
/// Anyone the bus lets through may read; only root may write (the caller's uid is asked of the bus), since a
/// user who could turn logging off or up would hide or flood what the administrator reads.
public enum LogControlObject {
    /// The object path systemd looks at.
    public static let path = try! DBusObjectPath("/org/freedesktop/LogControl1")
    /// The interface name.
    public static let interface = "org.freedesktop.LogControl1"

    /// Exports the object on `connection`; writes change `control` and are logged at notice.
    public static func export(on connection: DBusConnection, control: LogControl, logger: Logger) async throws {
        let rootOnly: @Sendable (DBusMethodCall) async throws -> Void = { call in
            let uid: UInt32
            do {
                uid = try await call.callerCredentials().uid
            } catch {
                throw DBusError(name: DBusError.Name.accessDenied, message: "Cannot tell who is asking: \(error)")
            }
            guard uid == 0 else {
                throw DBusError(
                    name: DBusError.Name.accessDenied,
                    message: "Only root may change devsyncd's logging (caller uid \(uid))")
            }
        }
        var level = DBusProperty(
            "LogLevel", type: .string,
            get: { .string(LogControl.syslogName(of: control.level)) },
            set: { value in
                guard case .string(let name) = value, let level = LogControl.level(syslogName: name) else {
                    throw DBusError(
                        name: DBusError.Name.invalidArgs,
                        message: "\(value) is not a syslog level: emerg, alert, crit, err, warning, notice, info or debug")
                }
                control.level = level
                logger.notice("Log level changed over D-Bus", metadata: ["level": "\(name)"])
            })
        level.authorizeSet = rootOnly
        var target = DBusProperty(
            "LogTarget", type: .string,
            get: { .string(control.target.name) },
            set: { value in
                guard case .string(let name) = value else {
                    throw DBusError(name: DBusError.Name.invalidArgs, message: "LogTarget is a string")
                }
                switch control.target(named: name) {
                case .success(let target):
                    control.target = target
                    logger.notice("Log target changed over D-Bus", metadata: ["target": "\(target.name)"])
                case .failure(let refusal):
                    throw DBusError(name: DBusError.Name.invalidArgs, message: refusal.message)
                }
            })
        target.authorizeSet = rootOnly
        let identifier = DBusProperty("SyslogIdentifier", type: .string, value: .string(control.syslogIdentifier))
        try await connection.export(
            [DBusInterface(interface, properties: [level, target, identifier])], at: path)
    }
}
