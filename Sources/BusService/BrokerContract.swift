// SPDX-License-Identifier: Apache-2.0
import DBus

/// The names and paths of `org.devsync.Broker1`, as `data/org.devsync.Broker1.xml` declares them.
public enum BrokerContract {
    /// The well-known bus name devsyncd owns.
    public static let busName = "org.devsync.Broker1"
    /// The API version the Manager's `Version` property reports.
    public static let version: UInt32 = 1

    /// The Manager object, also the ObjectManager of everything below it.
    public static let managerPath = try! DBusObjectPath("/org/devsync/Broker1")
    /// The parent of every device object.
    public static let devicesPath = try! DBusObjectPath("/org/devsync/Broker1/devices")
    /// The parent of every job object.
    public static let jobsPath = try! DBusObjectPath("/org/devsync/Broker1/jobs")

    /// The Manager interface.
    public static let managerInterface = "org.devsync.Broker1.Manager"
    /// The interface of each device object.
    public static let deviceInterface = "org.devsync.Broker1.Device"
    /// The interface of each job object.
    public static let jobInterface = "org.devsync.Broker1.Job"
    /// The interface sync engines implement on their own connection.
    public static let engineInterface = "org.devsync.Engine1"

    /// The polkit action for approving, rejecting and forgetting other users' devices, and reloading profiles.
    public static let manageDevicesAction = "org.devsync.manage-devices"
    /// The polkit action for syncing other users' devices.
    public static let syncAnyDeviceAction = "org.devsync.sync-any-device"

    /// The option that forbids a polkit password prompt.
    public static let noUserInteractionOption = "auth.no_user_interaction"

    /// The object path of the device with `uid`: its uid escaped into one path element (reversible).
    public static func devicePath(uid: String) -> DBusObjectPath {
        devicesPath.appending(escaping: uid)
    }
}

/// How new devices are treated, published as the Manager's `Policy` property.
public enum ApprovalPolicy: String, Sendable, Hashable, CaseIterable {
    /// New devices stay pending until someone approves them.
    case ask
    /// New devices are approved for the active user.
    case auto
}
