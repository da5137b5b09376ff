// SPDX-License-Identifier: Apache-2.0
/// The devices the feature lists name, with the descriptors the real ones report.
extension USBFixture {
    /// A Palm Tungsten on the visor driver: HotSync is the second port, ttyUSB1.
    public static func palm(port: String = "1-2") -> USBFixture {
        USBFixture(
            port: port, vendorID: 0x0830, productID: 0x0061, manufacturer: "Palm, Inc.", product: "Palm Handheld",
            serial: "PalmSN12345678",
            interfaces: [Interface(classCode: 0xff, subclass: 0, protocolCode: 0, ttys: ["ttyUSB0", "ttyUSB1"])])
    }

    /// An iPhone: PTP for photos, then Apple's usbmux interfaces.
    public static func iPhone(port: String = "1-3") -> USBFixture {
        USBFixture(
            port: port, vendorID: 0x05ac, productID: 0x12a8, revision: 0x0f01, manufacturer: "Apple Inc.",
            product: "iPhone", serial: "00008030001a2b3c4d5e6f70",
            interfaces: [
                Interface(classCode: 0x06, subclass: 0x01, protocolCode: 0x01, name: "PTP"),
                Interface(classCode: 0xff, subclass: 0xfe, protocolCode: 0x02, name: "Apple Mobile Device"),
                Interface(classCode: 0xff, subclass: 0xfd, protocolCode: 0x01, name: "Apple USB Multiplexor"),
            ])
    }

    /// A media player speaking MTP, as libmtp's rules mark it.
    public static func mtpPlayer(port: String = "1-4") -> USBFixture {
        USBFixture(
            port: port, vendorID: 0x0781, productID: 0x74d0, manufacturer: "SanDisk", product: "Sansa Clip+",
            serial: "C0FFEE42",
            interfaces: [Interface(classCode: 0x06, subclass: 0x01, protocolCode: 0x01, name: "MTP")],
            udev: [("ID_MTP_DEVICE", "1"), ("ID_MEDIA_PLAYER", "1")])
    }

    /// A PTP still camera, with the names udev's hwdb (usb.ids) gives it, as on a real system: no profile names it.
    public static func ptpCamera(port: String = "1-5") -> USBFixture {
        USBFixture(
            port: port, vendorID: 0x04a9, productID: 0x3218, manufacturer: "Canon Inc.", product: "Canon Digital Camera",
            interfaces: [Interface(classCode: 0x06, subclass: 0x01, protocolCode: 0x01)],
            udev: [("ID_VENDOR_FROM_DATABASE", "Canon, Inc."), ("ID_MODEL_FROM_DATABASE", "EOS 600D / Rebel T3i (ptp)")])
    }

    /// A Nokia N800 that gives no product string: the name comes from the hwdb.
    public static func nokiaN800(port: String = "1-6") -> USBFixture {
        USBFixture(
            port: port, vendorID: 0x0421, productID: 0x04c3, manufacturer: "Nokia",
            interfaces: [Interface(classCode: 0x08, subclass: 0x06, protocolCode: 0x50)],
            udev: [("ID_VENDOR_FROM_DATABASE", "Nokia Mobile Phones"), ("ID_MODEL_FROM_DATABASE", "N800 Internet Tablet")])
    }

    /// A Windows Mobile phone in RNDIS mode.
    public static func windowsMobile(port: String = "1-7") -> USBFixture {
        USBFixture(
            port: port, vendorID: 0x0bb4, productID: 0x0b04, manufacturer: "HTC", product: "Generic RNDIS",
            interfaces: [
                Interface(classCode: 0xe0, subclass: 0x01, protocolCode: 0x03),
                Interface(classCode: 0x0a, subclass: 0x00, protocolCode: 0x00),
            ])
    }

    /// A USB stick: not a sync device, but a USB device all the same.
    public static func usbStick(port: String = "2-1") -> USBFixture {
        USBFixture(
            port: port, vendorID: 0x0781, productID: 0x5567, manufacturer: "SanDisk", product: "Cruzer Blade",
            serial: "4C530001230519117313",
            interfaces: [Interface(classCode: 0x08, subclass: 0x06, protocolCode: 0x50)])
    }

    /// A vendor-specific gadget no shipped profile knows: only an administrator's rule makes it a sync device.
    public static func gadget(port: String = "1-5") -> USBFixture {
        USBFixture(
            port: port, vendorID: 0x1d6b, productID: 0x7777, manufacturer: "Acme", product: "Sync Gadget",
            serial: "GADGET01", interfaces: [Interface(classCode: 0xff, subclass: 0, protocolCode: 0)])
    }
}
