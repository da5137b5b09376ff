// SPDX-License-Identifier: Apache-2.0
import Foundation
@testable import UdevMonitor

/// A device tree in a temp directory, for the tests that read sysfs without umockdev: the reader takes any
/// path, so these run in every environment.
final class FakeSysfs {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("devsync-sysfs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    /// Creates `relative` with the given attributes, and a `uevent` file as every sysfs device has one;
    /// returns its absolute path.
    @discardableResult
    func device(_ relative: String, _ attributes: [String: [UInt8]]) throws -> String {
        let directory = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, bytes) in attributes.merging(["uevent": []], uniquingKeysWith: { given, _ in given }) {
            try Data(bytes).write(to: directory.appendingPathComponent(name))
        }
        return directory.path
    }

    /// Makes `relative/subsystem` point at `target` (`../../class/tty`), as sysfs links a device to its class.
    func subsystem(_ relative: String, _ target: String) throws {
        try FileManager.default.createSymbolicLink(
            atPath: root.appendingPathComponent(relative).appendingPathComponent("subsystem").path,
            withDestinationPath: target)
    }

    func remove(_ relative: String) throws {
        try FileManager.default.removeItem(at: root.appendingPathComponent(relative))
    }

    /// A udev record for the device at `relative`, as the monitor would copy it.
    func event(_ relative: String, action: String?, subsystem: String = "usb", devtype: String? = "usb_device",
               properties: [String: String] = [:], devnode: String? = nil) -> UdevDevice {
        UdevDevice(action: action, devpath: "/" + relative, syspath: root.appendingPathComponent(relative).path,
                   subsystem: subsystem, devtype: devtype, devnode: devnode, seqnum: 0, properties: properties)
    }
}

extension Array where Element == UInt8 {
    /// A text attribute as sysfs shows it, with its newline.
    static func attribute(_ text: String) -> [UInt8] { Array(text.utf8) + [0x0A] }
}

/// A reader whose libusb fallback is replaced, so that tests never touch the host's USB bus.
let offlineReader = USBDeviceReader(configurationDescriptor: { _, _ in nil })
