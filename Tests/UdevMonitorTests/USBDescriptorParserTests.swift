// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import UdevMonitor

@Suite("USB descriptors, parsed from sysfs bytes without opening the device")
struct USBDescriptorParserTests {
    /// An iPhone-like device: one configuration, PTP then two vendor interfaces (one with an alternate setting).
    static let descriptors: [UInt8] = [
        18, 1, 0x00, 0x02, 0, 0, 0, 64, 0xac, 0x05, 0xa8, 0x12, 0x01, 0x0f, 1, 2, 3, 1,
        9, 2, 52, 0, 3, 1, 0, 0xc0, 250,
        9, 4, 0, 0, 1, 0x06, 0x01, 0x01, 5,
        7, 5, 0x81, 2, 0, 2, 0,
        9, 4, 1, 0, 0, 0xff, 0xfe, 0x02, 6,
        9, 4, 1, 1, 0, 0xff, 0xfe, 0x03, 6,
        9, 4, 2, 0, 0, 0xff, 0xfd, 0x01, 7,
    ]

    @Test("interfaces come in interface order, alternate settings skipped")
    func interfaceOrder() {
        let interfaces = USBDescriptorParser.interfaces(descriptors: Self.descriptors, configurationValue: 1)
        #expect(interfaces?.map(\.triple) == ["06/01/01", "ff/fe/02", "ff/fd/01"])
    }

    @Test("the active configuration is chosen; an unknown value falls back to the first")
    func activeConfiguration() {
        let second: [UInt8] = [9, 2, 18, 0, 1, 2, 0, 0xc0, 250, 9, 4, 0, 0, 0, 0xe0, 0x01, 0x03, 0]
        let bytes = Self.descriptors + second
        #expect(USBDescriptorParser.interfaces(descriptors: bytes, configurationValue: 2)?.map(\.triple) == ["e0/01/03"])
        #expect(USBDescriptorParser.interfaces(descriptors: bytes, configurationValue: 7)?.count == 3)
    }

    @Test("truncated, zero-length and garbage descriptors end the walk instead of looping or crashing")
    func hostileDescriptors() {
        #expect(USBDescriptorParser.interfaces(descriptors: [], configurationValue: nil) == nil)
        #expect(USBDescriptorParser.interfaces(descriptors: Array(Self.descriptors.prefix(20)), configurationValue: 1) == nil)
        var zeroLength = Self.descriptors
        zeroLength[27] = 0  // the first interface descriptor claims length 0
        #expect(USBDescriptorParser.interfaces(descriptors: zeroLength, configurationValue: 1) == [])
        let cut = Array(Self.descriptors.prefix(40))
        #expect(USBDescriptorParser.interfaces(descriptors: cut, configurationValue: 1)?.map(\.triple) == ["06/01/01"])
        let noise = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }
        _ = USBDescriptorParser.interfaces(descriptors: Array(Self.descriptors.prefix(18)) + noise, configurationValue: nil)
    }

    @Test("a configuration descriptor whose bLength reaches past the data ends the walk (found by fuzz-uevent)")
    func configurationLongerThanData() {
        // bLength 137 and wTotalLength 0xFFFF, but only 9 bytes follow the device descriptor: the device said its
        // configuration header is longer than everything it returned.
        let bytes = Array(Self.descriptors.prefix(18)) + [137, 2, 0xFF, 0xFF, 0, 1, 0, 0, 0]
        #expect(USBDescriptorParser.interfaces(descriptors: bytes, configurationValue: 1) == nil)
        // The same after a good configuration: the good one is kept.
        #expect(USBDescriptorParser.interfaces(descriptors: Self.descriptors + [137, 2, 0xFF, 0xFF, 0, 2, 0, 0, 0], configurationValue: 1)?.count == 3)
    }

    @Test("udev's ID_USB_INTERFACES is read as triples, malformed fields skipped")
    func udevInterfaceList() {
        let interfaces = USBDescriptorParser.interfaces(udevList: ":ffff00:060101:zz0000:0a00:")
        #expect(interfaces.map(\.triple) == ["ff/ff/00", "06/01/01"])
    }
}
