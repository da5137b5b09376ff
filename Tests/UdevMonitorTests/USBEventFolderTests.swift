// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry
import Logging
import Testing
@testable import UdevMonitor

@Suite("Folding uevents into one logical event per physical device")
struct USBEventFolderTests {
    let sysfs: FakeSysfs
    var folder = USBEventFolder(reader: offlineReader, logger: Logger(label: "test.folder"))

    init() throws { sysfs = try FakeSysfs() }

    /// A stick at `port` with `interfaces` interface directories out of `expected`.
    @discardableResult
    func stick(_ port: String, interfaces: Int = 1, expected: Int = 1, serial: String = "S1") throws -> String {
        let path = "devices/usb1/\(port)"
        try sysfs.device(path, [
            "idVendor": .attribute("0781"), "idProduct": .attribute("5567"), "serial": .attribute(serial),
            "bNumInterfaces": .attribute(" \(expected)"), "bConfigurationValue": .attribute("1"),
        ])
        for number in 0..<interfaces { try interface(port, number) }
        return path
    }

    func interface(_ port: String, _ number: Int, name: String? = nil) throws {
        var attributes: [String: [UInt8]] = [
            "bInterfaceNumber": .attribute("0\(number)"), "bInterfaceClass": .attribute("08"),
            "bInterfaceSubClass": .attribute("06"), "bInterfaceProtocol": .attribute("50"),
        ]
        if let name { attributes["interface"] = .attribute(name) }
        try sysfs.device("devices/usb1/\(port)/\(port):1.\(number)", attributes)
    }

    func interfaceEvent(_ port: String, _ number: Int, _ action: String) -> UdevDevice {
        sysfs.event("devices/usb1/\(port)/\(port):1.\(number)", action: action, devtype: "usb_interface",
                    properties: ["INTERFACE": "8/6/80", "PRODUCT": "781/5567/100"])
    }

    @Test("an add is an arrival; the same add again, or a bind, is nothing")
    mutating func addIsIdempotent() throws {
        let path = try stick("1-1")
        let arrival = folder.fold(sysfs.event(path, action: "add"))
        #expect(arrival.count == 1 && arrival[0].isArrival)
        #expect(folder.fold(sysfs.event(path, action: "add")).isEmpty)
        #expect(folder.fold(sysfs.event(path, action: "bind")).isEmpty)
        #expect(folder.fold(interfaceEvent("1-1", 0, "add")).isEmpty, "the interface was read with the device")
    }

    @Test("a change that alters a property is a change; one that alters nothing is nothing")
    mutating func changeOnlyWhenDifferent() throws {
        let path = try stick("1-1")
        _ = folder.fold(sysfs.event(path, action: "add"))
        #expect(folder.fold(sysfs.event(path, action: "change")).isEmpty)
        let changed = folder.fold(sysfs.event(path, action: "change", properties: ["ID_MEDIA_PLAYER": "1"]))
        #expect(changed.first?.isChange == true)
        #expect(changed.first?.observation?.properties.string("udev.ID_MEDIA_PLAYER") == "1")
    }

    @Test("a device announced before its interfaces exist arrives once, when the last interface appears")
    mutating func waitsForInterfaces() throws {
        let path = try stick("1-2", interfaces: 0, expected: 2)
        #expect(folder.fold(sysfs.event(path, action: "add")).isEmpty)
        #expect(folder.pending.keys.contains("/" + path))
        try interface("1-2", 0)
        #expect(folder.fold(interfaceEvent("1-2", 0, "add")).isEmpty)
        try interface("1-2", 1, name: "Mass Storage")
        let events = folder.fold(interfaceEvent("1-2", 1, "add"))
        #expect(events.count == 1 && events[0].isArrival)
        #expect(events[0].observation?.properties.strlist(PropertyKey.usbInterfaces) == ["08/06/50", "08/06/50"])
        #expect(events[0].observation?.properties.strlist(PropertyKey.usbInterfaceNames) == ["Mass Storage"])
        #expect(folder.pending.isEmpty)
    }

    @Test("a pending device that leaves was never there; one whose interfaces never come is settled")
    mutating func pendingDeviceLeavesOrSettles() throws {
        let gone = try stick("1-3", interfaces: 0, expected: 1)
        _ = folder.fold(sysfs.event(gone, action: "add"))
        #expect(folder.fold(sysfs.event(gone, action: "remove")).isEmpty)
        #expect(folder.settle("/" + gone).isEmpty)

        let slow = try stick("1-4", interfaces: 0, expected: 1)
        _ = folder.fold(sysfs.event(slow, action: "add"))
        let settled = folder.settle("/" + slow)
        #expect(settled.count == 1 && settled[0].isArrival)
        #expect(folder.devices.keys.contains("/" + slow))
    }

    @Test("a remove is matched by devpath alone, with no sysfs left and no DEVTYPE, children silently")
    mutating func removeWithoutSysfs() throws {
        let path = try stick("1-5")
        _ = folder.fold(sysfs.event(path, action: "add"))
        try sysfs.remove(path)
        #expect(folder.fold(interfaceEvent("1-5", 0, "remove")).isEmpty)
        let events = folder.fold(sysfs.event(path, action: "remove", devtype: nil, properties: ["PRODUCT": "781/5567/100"]))
        #expect(events == [.departed(transport: .usb, sourceKey: "/" + path)])
        #expect(folder.fold(sysfs.event(path, action: "remove")).isEmpty, "a second remove is nothing")
    }

    @Test("a tty below a device is a change naming its node; a tty of no known device is nothing")
    mutating func ttyIsAChange() throws {
        let path = try stick("1-6")
        _ = folder.fold(sysfs.event(path, action: "add"))
        let tty = sysfs.event(path + "/1-6:1.0/ttyUSB1/tty/ttyUSB1", action: "add", subsystem: "tty", devtype: nil, devnode: "/dev/ttyUSB1")
        let events = folder.fold(tty)
        #expect(events.first?.isChange == true && events.first?.sourceKey == "/" + path)
        #expect(events.first?.observation?.properties.string(PropertyKey.serialDevice) == "/dev/ttyUSB1")
        #expect(folder.fold(tty).isEmpty)
        let stray = sysfs.event("devices/pnp0/00:05/tty/ttyS0", action: "add", subsystem: "tty", devtype: nil, devnode: "/dev/ttyS0")
        #expect(folder.fold(stray).isEmpty)
        #expect(folder.fold(sysfs.event(path + "/1-6:1.0/ttyUSB1/tty/ttyUSB1", action: "remove", subsystem: "tty", devtype: nil)).isEmpty)
    }

    @Test("root hubs are the controller's, not devices: never announced")
    mutating func rootHubsIgnored() throws {
        try sysfs.device("devices/pci/usb1", ["idVendor": .attribute("1d6b"), "idProduct": .attribute("0002")])
        #expect(folder.fold(sysfs.event("devices/pci/usb1", action: "add")).isEmpty)
        #expect(folder.resynchronize(present: [sysfs.event("devices/pci/usb1", action: nil)]).isEmpty)
    }

    @Test("devpaths are matched by component: 1-1 does not own 1-10's tty")
    mutating func devpathComponents() throws {
        let path = try stick("1-1")
        _ = folder.fold(sysfs.event(path, action: "add"))
        let tty = sysfs.event("devices/usb1/1-10/1-10:1.0/tty/ttyACM0", action: "add", subsystem: "tty", devtype: nil)
        #expect(folder.fold(tty).isEmpty)
        #expect("/a/1-10/x".isDevpath(below: "/a/1-1") == false && "/a/1-1/x".isDevpath(below: "/a/1-1"))
    }

    @Test("cold-plug then the events queued meanwhile: nothing lost, nothing doubled")
    mutating func reconciliation() throws {
        let a = try stick("2-1", serial: "A")
        let b = try stick("2-2", serial: "B")
        let present = [sysfs.event(a, action: nil, properties: ["USEC_INITIALIZED": "500"]),
                       sysfs.event(b, action: nil, properties: ["USEC_INITIALIZED": "600"])]
        let coldPlug = folder.resynchronize(present: present)
        #expect(coldPlug.map(\.sourceKey) == ["/" + a, "/" + b] && coldPlug.allSatisfy { $0.isArrival })

        // Queued while enumerating: A's own add (enumeration saw it), the remove of an older instance at B's
        // devpath, a device C that came and went, and A unplugged and replugged.
        #expect(folder.fold(sysfs.event(a, action: "add", properties: ["USEC_INITIALIZED": "500"])).isEmpty)
        #expect(folder.fold(sysfs.event(b, action: "remove", properties: ["USEC_INITIALIZED": "100"])).isEmpty)
        let c = "devices/usb1/2-3"
        #expect(folder.fold(sysfs.event(c, action: "add")).isEmpty, "C's sysfs is already gone")
        #expect(folder.fold(sysfs.event(c, action: "remove")).isEmpty)
        #expect(folder.fold(sysfs.event(a, action: "remove", properties: ["USEC_INITIALIZED": "500"])) == [.departed(transport: .usb, sourceKey: "/" + a)])
        #expect(folder.fold(sysfs.event(a, action: "add", properties: ["USEC_INITIALIZED": "900"])).first?.isArrival == true)
        #expect(folder.devices.keys.sorted() == ["/" + a, "/" + b])
    }

    @Test("a resynchronisation after an overrun reports exactly the difference")
    mutating func resynchronisation() throws {
        let a = try stick("3-1", serial: "A")
        let b = try stick("3-2", serial: "B")
        _ = folder.resynchronize(present: [sysfs.event(a, action: nil), sysfs.event(b, action: nil)])
        let c = try stick("3-3", serial: "C")
        let events = folder.resynchronize(
            present: [sysfs.event(b, action: nil, properties: ["ID_MTP_DEVICE": "1"]), sysfs.event(c, action: nil)])
        #expect(events.count == 3)
        #expect(events[0] == .departed(transport: .usb, sourceKey: "/" + a))
        #expect(events[1].isChange && events[1].sourceKey == "/" + b)
        #expect(events[2].isArrival && events[2].sourceKey == "/" + c)
    }

    @Test("a moved device departs from its old devpath and arrives at the new one")
    mutating func move() throws {
        let old = try stick("4-1")
        _ = folder.fold(sysfs.event(old, action: "add"))
        let new = try stick("4-2")
        let events = folder.fold(sysfs.event(new, action: "move", properties: ["DEVPATH_OLD": "/" + old]))
        #expect(events.count == 2 && events[0] == .departed(transport: .usb, sourceKey: "/" + old) && events[1].isArrival)
    }
}
