// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry
import Testing
@testable import Bluetooth

@Suite("Device1 to observation")
struct BlueZDeviceTests {
    static let path = "/org/bluez/hci0/dev_00_1A_7D_DA_71_13"

    static let phone = BlueZDevice(
        address: "00:1a:7d:da:71:13", name: "Nokia 6230i", alias: "Anna's phone", deviceClass: 0x5A_020C,
        uuids: ["00001104-0000-1000-8000-00805F9B34FB", "0x1105", "00000002-0000-1000-8000-0002ee000002", "junk"],
        modalias: "bluetooth:v0001p0042d0100", paired: true, connected: false, trusted: true,
        adapter: "/org/bluez/hci0"
    )

    @Test("a paired phone becomes a bluetooth observation keyed by its object path")
    func phoneObservation() {
        let observation = Self.phone.observation(objectPath: Self.path)
        #expect(observation.transport == .bluetooth)
        #expect(observation.sourceKey == Self.path)
        let properties = observation.properties
        #expect(properties.string(PropertyKey.infoSubsystem) == "bluetooth")
        #expect(properties.string(PropertyKey.bluetoothAddress) == "00:1A:7D:DA:71:13")
        #expect(properties.string(PropertyKey.bluetoothName) == "Anna's phone", "the alias, as docs/profiles.md says")
        #expect(properties.string(PropertyKey.bluetoothAlias) == "Anna's phone")
        #expect(properties.string(PropertyKey.infoProduct) == "Nokia 6230i")
        #expect(properties.string(PropertyKey.infoVendor) == "Nokia")
        #expect(properties.int(PropertyKey.bluetoothClass) == 0x5A_020C)
        #expect(properties.string(PropertyKey.bluetoothMajorClass) == "phone")
        #expect(properties.string(PropertyKey.bluetoothMinorClass) == "smartphone")
        #expect(properties.bool(PropertyKey.bluetoothPaired) == true)
        #expect(properties.bool(PropertyKey.bluetoothConnected) == false)
        #expect(properties.string(PropertyKey.bluetoothModalias) == "bluetooth:v0001p0042d0100")
        #expect(properties.int(PropertyKey.bluetoothVendorID) == 1)
        #expect(properties.int(PropertyKey.bluetoothProductID) == 0x42)
        #expect(properties.int(PropertyKey.bluetoothVersion) == 0x100)
    }

    @Test("service UUIDs are published lowercase 128-bit; unparseable ones are dropped")
    func uuidsNormalised() {
        let uuids = Self.phone.properties.strlist(PropertyKey.bluetoothUUIDs)
        #expect(uuids == [
            "00001104-0000-1000-8000-00805f9b34fb", "00001105-0000-1000-8000-00805f9b34fb",
            "00000002-0000-1000-8000-0002ee000002",
        ])
    }

    @Test("a Palm publishes computer/palm, the values the shipped 60-bluetooth.fdi matches for a PDA")
    func pdaMinorClass() {
        let palm = BlueZDevice(address: "00:07:E0:12:34:56", name: "Palm Tungsten T", deviceClass: 0x10_0114)
        #expect(palm.properties.string(PropertyKey.bluetoothMajorClass) == "computer")
        #expect(palm.properties.string(PropertyKey.bluetoothMinorClass) == "palm")
    }

    @Test("minor classes are published for computers and phones only; class 0 publishes no decoded keys")
    func minorClassScope() {
        let headset = BlueZDevice(address: "00:1A:7D:DA:71:13", deviceClass: 0x24_0404).properties
        #expect(headset.string(PropertyKey.bluetoothMajorClass) == "audio-video")
        #expect(!headset.contains(PropertyKey.bluetoothMinorClass))

        let unreported = BlueZDevice(address: "00:1A:7D:DA:71:13", deviceClass: 0).properties
        #expect(unreported.int(PropertyKey.bluetoothClass) == 0)
        #expect(!unreported.contains(PropertyKey.bluetoothMajorClass))
        #expect(!unreported.contains(PropertyKey.bluetoothMinorClass))

        let reserved = BlueZDevice(address: "00:1A:7D:DA:71:13", deviceClass: 0x1500).properties
        #expect(!reserved.contains(PropertyKey.bluetoothMajorClass))
    }

    @Test("without an alias the remote name names the device; without a name info.product stays unset")
    func nameFallbacks() {
        let named = BlueZDevice(address: "00:1A:7D:DA:71:13", name: "K750i").properties
        #expect(named.string(PropertyKey.bluetoothName) == "K750i")
        #expect(!named.contains(PropertyKey.bluetoothAlias))

        let unnamed = BlueZDevice(address: "00:1A:7D:DA:71:13", alias: "00-1A-7D-DA-71-13").properties
        #expect(unnamed.string(PropertyKey.bluetoothName) == "00-1A-7D-DA-71-13")
        #expect(!unnamed.contains(PropertyKey.infoProduct))
    }

    @Test("absent or unparseable fields leave their properties out")
    func sparseDevice() {
        let device = BlueZDevice(address: "not an address", deviceClass: nil, modalias: "usb:garbage")
        let properties = device.properties
        #expect(!properties.contains(PropertyKey.bluetoothAddress))
        #expect(!properties.contains(PropertyKey.bluetoothClass))
        #expect(!properties.contains(PropertyKey.bluetoothMajorClass))
        #expect(!properties.contains(PropertyKey.bluetoothUUIDs))
        #expect(!properties.contains(PropertyKey.bluetoothVendorID))
        #expect(!properties.contains(PropertyKey.infoVendor))
        #expect(properties.string(PropertyKey.bluetoothModalias) == "usb:garbage")
        #expect(properties.bool(PropertyKey.bluetoothPaired) == false)
    }

    @Test("a hostile name with control characters and 64 KiB of text is published sanitized and bounded")
    func hostileName() {
        let hostile = "Evil\u{1B}[2J\u{0}\u{7}" + String(repeating: "A", count: 64 * 1024)
        let device = BlueZDevice(address: "00:1A:7D:DA:71:13", name: hostile, alias: hostile)
        let properties = device.observation(objectPath: Self.path).properties
        for key in [PropertyKey.bluetoothName, PropertyKey.bluetoothAlias, PropertyKey.infoProduct] {
            let published = properties.string(key) ?? ""
            #expect(published.hasPrefix("Evil\u{FFFD}[2J\u{FFFD}\u{FFFD}AAA"))
            #expect(published.utf8.count <= DeviceText.maximumStringBytes)
            #expect(!published.unicodeScalars.contains { $0.value < 0x20 })
        }
    }

    @Test("PropertiesChanged updates apply one property at a time")
    func applyChanges() {
        var device = Self.phone
        device.apply(.connected(true))
        device.apply(.alias(nil))
        device.apply(.deviceClass(0x10_0110))
        #expect(device.properties.bool(PropertyKey.bluetoothConnected) == true)
        #expect(device.properties.string(PropertyKey.bluetoothName) == "Nokia 6230i")
        #expect(device.properties.string(PropertyKey.bluetoothMinorClass) == "handheld")
    }
}
