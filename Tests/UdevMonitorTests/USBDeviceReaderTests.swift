// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry
import Logging
import Testing
@testable import UdevMonitor

@Suite("Reading a USB device from sysfs")
struct USBDeviceReaderTests {
    @Test("a device's attributes become the property vocabulary")
    func properties() throws {
        let sysfs = try FakeSysfs()
        try sysfs.device("devices/1-2", [
            "idVendor": .attribute("0830"), "idProduct": .attribute("0061"), "bcdDevice": .attribute("0100"),
            "bDeviceClass": .attribute("00"), "manufacturer": .attribute("Palm, Inc."), "serial": .attribute("PALM42"),
            "busnum": .attribute("1"), "devnum": .attribute("7"), "bNumInterfaces": .attribute(" 1"),
            "bConfigurationValue": .attribute("1"),
        ])
        try sysfs.device("devices/1-2/1-2:1.0", [
            "bInterfaceNumber": .attribute("00"), "bInterfaceClass": .attribute("ff"),
            "bInterfaceSubClass": .attribute("00"), "bInterfaceProtocol": .attribute("00"),
        ])
        try sysfs.device("devices/1-2/1-2:1.0/ttyUSB1/tty/ttyUSB1", [:])
        try sysfs.subsystem("devices/1-2/1-2:1.0/ttyUSB1", "../../../../bus/usb-serial")
        try sysfs.subsystem("devices/1-2/1-2:1.0/ttyUSB1/tty/ttyUSB1", "../../../../../../class/tty")
        try sysfs.device("devices/1-2/1-2:1.0/ttyUSB0/tty/ttyUSB0", [:])  // no class link: not taken for a tty
        let record = try offlineReader.readDevice(sysfs.event("devices/1-2", action: "add",
            properties: ["ID_PDA": "1", "ID_PATH": "pci-0000:00:14.0-usb-0:2", "PRODUCT": "830/61/100", "DEVNAME": "/dev/bus/usb/001/007"]))
        let properties = record.properties
        #expect(properties.int(PropertyKey.usbVendorID) == 0x0830)
        #expect(properties.int(PropertyKey.usbProductID) == 0x0061)
        #expect(properties.int(PropertyKey.usbDeviceRevision) == 0x0100)
        #expect(properties.int(PropertyKey.usbBusNumber) == 1 && properties.int(PropertyKey.usbDeviceNumber) == 7)
        #expect(properties.string(PropertyKey.infoVendor) == "Palm, Inc.")
        #expect(properties.contains(PropertyKey.infoProduct) == false)
        #expect(properties.contains(PropertyKey.usbProduct) == false, "no product string, no usb.product")
        #expect(properties.string(PropertyKey.usbSerial) == "PALM42")
        #expect(properties.strlist(PropertyKey.usbInterfaces) == ["ff/00/00"])
        #expect(properties.string(PropertyKey.serialDevice) == "/dev/ttyUSB1")
        #expect(record.ttys == ["/devices/1-2/1-2:1.0/ttyUSB1/tty/ttyUSB1": "/dev/ttyUSB1"])
        #expect(properties.string("udev.ID_PDA") == "1" && properties.string("udev.ID_PATH") != nil)
        #expect(properties.string("udev.PRODUCT") == "830/61/100" && properties.string("udev.DEVNAME") != nil)
        #expect(record.isAwaitingInterfaces == false)
    }

    @Test("every udev property is published but one event's bookkeeping and the bound driver")
    func udevProperties() throws {
        let sysfs = try FakeSysfs()
        try sysfs.device("devices/1-9", ["idVendor": .attribute("05ac"), "manufacturer": .attribute("Apple Inc.")])
        let properties = try offlineReader.readDevice(sysfs.event("devices/1-9", action: "bind", properties: [
            "ACTION": "bind", "SEQNUM": "4711", "DRIVER": "usb", "USEC_INITIALIZED": "123", "SYNTH_UUID": "0",
            "USBMUX_SUPPORTED": "1", "ID_VENDOR_FROM_DATABASE": "Apple, Inc.",
        ])).properties
        #expect(properties.string("udev.USBMUX_SUPPORTED") == "1")
        for name in ["ACTION", "SEQNUM", "DRIVER", "USEC_INITIALIZED", "SYNTH_UUID"] {
            #expect(properties.contains("udev." + name) == false, "udev.\(name)")
        }
        #expect(properties.string(PropertyKey.infoVendor) == "Apple, Inc.", "the hwdb's name comes before the device's")
    }

    @Test("serials and names with invalid UTF-8, control characters and 64 KiB lengths are sanitized")
    func hostileStrings() throws {
        let sysfs = try FakeSysfs()
        try sysfs.device("devices/1-3", [
            "idVendor": .attribute("05ac"), "idProduct": .attribute("12a8"),
            "serial": [0x53, 0x4E, 0xFF, 0xFE, 0x00, 0x07, 0x1B, 0x5B, 0x32, 0x4A, 0x0A],
            "product": Array(repeating: 0xE2, count: 64 * 1024),
            "manufacturer": Array(repeating: UInt8(ascii: "x"), count: 64 * 1024) + [0x0A],
        ])
        let properties = try offlineReader.readDevice(sysfs.event("devices/1-3", action: "add")).properties
        let serial = try #require(properties.string(PropertyKey.usbSerial))
        #expect(serial.hasPrefix("SN\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"))
        #expect(DeviceText.isClean(serial))
        #expect(properties.string(PropertyKey.infoProduct).map(DeviceText.isClean) == true)
        #expect(properties.string(PropertyKey.usbProduct).map(DeviceText.isClean) == true)
        #expect(properties.string(PropertyKey.infoVendor)?.utf8.count == DeviceText.maximumStringBytes)
    }

    @Test("a missing attribute is an absent property, a malformed number too")
    func missingAttributes() throws {
        let sysfs = try FakeSysfs()
        try sysfs.device("devices/1-4", ["idVendor": .attribute("zz"), "bDeviceClass": .attribute("")])
        let properties = try offlineReader.readDevice(sysfs.event("devices/1-4", action: "add", properties: ["PRODUCT": "4a9/3218/2"])).properties
        #expect(properties.int(PropertyKey.usbVendorID) == 0x04a9, "PRODUCT fills in what sysfs lacks")
        #expect(properties.int(PropertyKey.usbProductID) == 0x3218)
        #expect(properties.contains(PropertyKey.usbDeviceClass) == false)
        #expect(properties.contains(PropertyKey.usbSerial) == false)
        #expect(properties.contains(PropertyKey.usbInterfaces) == false)
        #expect(properties.contains(PropertyKey.serialDevice) == false)
    }

    @Test("a device whose directory is gone is skipped, not half-read")
    func vanishedDevice() throws {
        let sysfs = try FakeSysfs()
        #expect(throws: USBDeviceReader.Skip.vanished) {
            try offlineReader.readDevice(sysfs.event("devices/1-5", action: "add", properties: ["PRODUCT": "1/2/3"]))
        }
    }

    @Test("interfaces not in sysfs come from the descriptors file; names only from interface directories")
    func descriptorFallback() throws {
        let sysfs = try FakeSysfs()
        try sysfs.device("devices/1-6", [
            "idVendor": .attribute("05ac"), "bNumInterfaces": .attribute(" 3"), "bConfigurationValue": .attribute("1"),
            "descriptors": USBDescriptorParserTests.descriptors,
        ])
        try sysfs.device("devices/1-6/1-6:1.1", [
            "bInterfaceNumber": .attribute("01"), "bInterfaceClass": .attribute("ff"), "bInterfaceSubClass": .attribute("fe"),
            "bInterfaceProtocol": .attribute("02"), "interface": .attribute("Apple Mobile Device"),
        ])
        var record = try offlineReader.readDevice(sysfs.event("devices/1-6", action: "add"))
        #expect(record.isAwaitingInterfaces, "two of three interface directories are still to come")
        #expect(record.properties.strlist(PropertyKey.usbInterfaces) == ["ff/fe/02"], "held back: not described yet")
        offlineReader.describeMissingInterfaces(of: &record, syspath: sysfs.root.appendingPathComponent("devices/1-6").path)
        #expect(record.properties.strlist(PropertyKey.usbInterfaces) == ["06/01/01", "ff/fe/02", "ff/fd/01"])
        #expect(record.properties.strlist(PropertyKey.usbInterfaceNames) == ["Apple Mobile Device"])
    }

    @Test("a device held for its interfaces costs no libusb enumeration; one announced without them is described")
    func heldDeviceIsDescribedOnlyWhenAnnounced() throws {
        let sysfs = try FakeSysfs()
        try sysfs.device("devices/usb1/1-9", [
            "idVendor": .attribute("0781"), "bNumInterfaces": .attribute(" 1"), "bConfigurationValue": .attribute("1"),
            "busnum": .attribute("1"), "devnum": .attribute("9"),
        ])
        let asked = Box(0)
        let libusb = USBDeviceReader(configurationDescriptor: { _, _ in
            asked.value += 1
            return [USBInterface(number: 0, classCode: 0x06, subclass: 1, protocolCode: 1, name: nil)]
        })
        var folder = USBEventFolder(reader: libusb, logger: Logger(label: "test.folder"))
        // The kernel's order: the device's uevent before its interface exists, then the interface's.
        #expect(folder.fold(sysfs.event("devices/usb1/1-9", action: "add")).isEmpty)
        #expect(asked.value == 0, "a held device is not described")
        try sysfs.device("devices/usb1/1-9/1-9:1.0", [
            "bInterfaceClass": .attribute("06"), "bInterfaceSubClass": .attribute("01"), "bInterfaceProtocol": .attribute("01"),
        ])
        let arrival = folder.fold(sysfs.event("devices/usb1/1-9/1-9:1.0", action: "add", devtype: "usb_interface",
                                              properties: ["INTERFACE": "6/1/1"]))
        #expect(arrival.count == 1 && arrival[0].isArrival)
        #expect(arrival.first?.observation?.properties.strlist(PropertyKey.usbInterfaces) == ["06/01/01"])
        #expect(asked.value == 0, "its interface came: nothing to describe")

        // One whose interface never comes is described when the grace time settles it.
        try sysfs.device("devices/usb1/1-10", [
            "idVendor": .attribute("0781"), "bNumInterfaces": .attribute(" 1"), "bConfigurationValue": .attribute("1"),
            "busnum": .attribute("1"), "devnum": .attribute("10"),
        ])
        #expect(folder.fold(sysfs.event("devices/usb1/1-10", action: "add")).isEmpty)
        #expect(asked.value == 0)
        let settled = folder.settle("/devices/usb1/1-10")
        #expect(asked.value == 1)
        #expect(settled.first?.observation?.properties.strlist(PropertyKey.usbInterfaces) == ["06/01/01"])
    }

    @Test("without directories or descriptors, libusb is asked (bus and address), then udev's list")
    func libusbThenUdevFallback() throws {
        let sysfs = try FakeSysfs()
        try sysfs.device("devices/1-7", ["idVendor": .attribute("0bb4"), "busnum": .attribute("3"), "devnum": .attribute("9")])
        let asked = Box<(UInt32, UInt32)?>(nil)
        let libusb = USBDeviceReader(configurationDescriptor: { bus, address in
            asked.value = (bus, address)
            return [USBInterface(number: 0, classCode: 0xe0, subclass: 1, protocolCode: 3, name: nil)]
        })
        let event = sysfs.event("devices/1-7", action: "add", properties: ["ID_USB_INTERFACES": ":080650:"])
        #expect(try libusb.readDevice(event).properties.strlist(PropertyKey.usbInterfaces) == ["e0/01/03"])
        #expect(asked.value?.0 == 3 && asked.value?.1 == 9)
        #expect(try offlineReader.readDevice(event).properties.strlist(PropertyKey.usbInterfaces) == ["08/06/50"])
    }

    @Test("a device not yet authorized (USBGuard) is not waited for")
    func unauthorizedDeviceIsNotAwaited() throws {
        let sysfs = try FakeSysfs()
        try sysfs.device("devices/1-8", [
            "idVendor": .attribute("0781"), "authorized": .attribute("0"), "bNumInterfaces": .attribute(" 1"),
            "bConfigurationValue": .attribute("1"),
        ])
        #expect(try offlineReader.readDevice(sysfs.event("devices/1-8", action: "add")).isAwaitingInterfaces == false)
    }

    @Test("the kernel's PRODUCT, TYPE and INTERFACE fields parse, and a malformed field is nil, not a guess")
    func ueventFields() {
        #expect(USBDeviceReader.fields("830/61/100", radix: 16) == [0x830, 0x61, 0x100])
        #expect(USBDeviceReader.fields("255/0/0", radix: 10) == [255, 0, 0])
        #expect(USBDeviceReader.fields("5AC/12A8/C01", radix: 16) == [0x5ac, 0x12a8, 0xc01])
        #expect(USBDeviceReader.fields("1//2", radix: 10) == [1, nil, 2])
        #expect(USBDeviceReader.fields("8/6/5a", radix: 10) == [8, 6, nil], "a hex digit in a decimal field")
        #expect(USBDeviceReader.fields("fffffffff/1/ 2", radix: 16) == [nil, 1, nil], "overflow and a space")
        #expect(USBDeviceReader.fields("", radix: 16) == [nil])
    }
}

/// A mutable cell a @Sendable closure can write in a test.
final class Box<Value>: @unchecked Sendable {
    // @unchecked Sendable: written and read on the test's own thread only.
    var value: Value
    init(_ value: Value) { self.value = value }
}

@Suite("Resolving a sysfs link's target")
struct LinkResolutionTests {
    @Test("a relative target is folded against the link's directory; an absolute one stands")
    func resolve() {
        #expect(UdevContext.resolve("../../../devices/pci0000:00/0000:00:14.0/usb1/1-2", from: "/sys/bus/usb/devices")
                == "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-2")
        #expect(UdevContext.resolve("./../x/./y", from: "/a/b") == "/a/x/y")
        #expect(UdevContext.resolve("/sys/devices/x", from: "/sys/bus/usb/devices") == "/sys/devices/x")
        #expect(UdevContext.resolve("../../../../../..", from: "/sys/bus") == "/")
    }
}
