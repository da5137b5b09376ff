// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import Bluetooth

@Suite("Class of device")
struct DeviceClassTests {
    @Test("a Nokia-style cellular phone with object transfer and telephony services")
    func cellularPhone() {
        let decoded = BluetoothDeviceClass(rawValue: 0x52_0204)
        #expect(decoded.majorClass == .phone)
        #expect(decoded.minorClass == .cellular)
        #expect(decoded.serviceClasses.contains(.telephony))
        #expect(decoded.serviceClasses.contains(.objectTransfer))
        #expect(!decoded.serviceClasses.contains(.audio))
        #expect(decoded.serviceClasses.names == ["networking", "object-transfer", "telephony"])
    }

    @Test("a smartphone")
    func smartphone() {
        let decoded = BluetoothDeviceClass(rawValue: 0x5A_020C)
        #expect(decoded.majorClass == .phone)
        #expect(decoded.minorClass == .smartphone)
        #expect(decoded.minorClass?.rawValue == "smartphone")
        #expect(decoded.serviceClasses.contains([.telephony, .objectTransfer, .capturing, .networking]))
    }

    @Test("a Palm PDA is a computer of minor class palm; a clamshell PDA is handheld")
    func palmPDA() {
        let palm = BluetoothDeviceClass(rawValue: 0x10_0114)
        #expect(palm.majorClass == .computer)
        #expect(palm.minorClass == .palmPDA)
        #expect(palm.minorClass?.rawValue == "palm")
        #expect(palm.serviceClasses == .objectTransfer)

        let handheld = BluetoothDeviceClass(rawValue: 0x10_0110)
        #expect(handheld.minorClass == .handheldPDA)
        #expect(handheld.minorClass?.rawValue == "handheld")
    }

    @Test("a headset is audio-video, not a phone")
    func headset() {
        let decoded = BluetoothDeviceClass(rawValue: 0x24_0404)
        #expect(decoded.majorClass == .audioVideo)
        #expect(decoded.majorClass?.rawValue == "audio-video")
        #expect(decoded.minorClass == .headset)
        #expect(decoded.serviceClasses == [.audio, .rendering])
    }

    @Test("other computers, reserved minors and unknown majors")
    func otherClasses() {
        #expect(BluetoothDeviceClass(rawValue: 0x10C).minorClass == .laptop)
        #expect(BluetoothDeviceClass(rawValue: 0x11C).minorClass == .tablet)
        #expect(BluetoothDeviceClass(rawValue: 0x20C).minorClass == .smartphone)
        #expect(BluetoothDeviceClass(rawValue: 0x418).minorClass == .headphones)
        #expect(BluetoothDeviceClass(rawValue: 0x40C).minorClass == nil, "A/V minor 3 is reserved")
        #expect(BluetoothDeviceClass(rawValue: 0x500).majorClass == .peripheral)
        #expect(BluetoothDeviceClass(rawValue: 0x1F00).majorClass == .uncategorized)
        #expect(BluetoothDeviceClass(rawValue: 0x1500).majorClass == nil, "reserved major code")
        #expect(BluetoothDeviceClass(rawValue: 0x1500).minorClass == nil)
        #expect(BluetoothDeviceClass(rawValue: 0x0300).majorClass?.rawValue == "network")
        #expect(BluetoothDeviceClass(rawValue: 0x0200).minorClass == .uncategorized)
        #expect(BluetoothDeviceClass(rawValue: 0x0000).majorClass == .miscellaneous)
        #expect(BluetoothDeviceClass(rawValue: 0x0900).majorClass == .health)
        #expect(BluetoothDeviceClass(rawValue: 0xFF00_020C).rawValue == 0x20C, "bits above 23 are dropped")
    }
}

@Suite("Service UUIDs")
struct BluetoothUUIDTests {
    @Test(
        "16- and 32-bit aliases and 128-bit spellings normalise to one lowercase 128-bit form",
        arguments: [
            "0x1104", "1104", "0X1104", "00001104", "0x00001104", "00001104-0000-1000-8000-00805F9B34FB",
            "00001104-0000-1000-8000-00805f9b34fb", "0000110400001000800000805f9b34fb",
        ]
    )
    func irmcSpellings(text: String) {
        #expect(BluetoothUUID.normalize(text) == "00001104-0000-1000-8000-00805f9b34fb")
        #expect(BluetoothUUID(text) == .irmcSync)
        #expect(BluetoothUUID(text)?.alias == 0x1104)
    }

    @Test("a vendor 128-bit UUID keeps its bits and has no alias")
    func vendorUUID() throws {
        let syncML = try #require(BluetoothUUID("00000002-0000-1000-8000-0002EE000002"))
        #expect(syncML == .syncMLClient)
        #expect(syncML.description == "00000002-0000-1000-8000-0002ee000002")
        #expect(syncML.alias == nil)
    }

    @Test("a 32-bit alias above 16 bits stays in the base UUID")
    func thirtyTwoBitAlias() {
        #expect(BluetoothUUID.normalize("0x12345678") == "12345678-0000-1000-8000-00805f9b34fb")
    }

    @Test(
        "malformed UUIDs are refused",
        arguments: ["", "0x", "110", "11045", "0x11G4", "00001104-0000-1000-8000-00805f9b34f",
                    "0000110-40000-1000-8000-00805f9b34fb", "-0001104-0000-1000-8000-00805f9b34fb", "0x-1104"]
    )
    func malformed(text: String) {
        #expect(BluetoothUUID(text) == nil)
    }
}

@Suite("Modalias")
struct ModaliasTests {
    @Test("a Bluetooth SIG Device ID record")
    func bluetoothSource() throws {
        let parsed = try #require(BluetoothModalias("bluetooth:v000Fp1200d1436"))
        #expect(parsed.source == .bluetooth)
        #expect(parsed.vendor == 0x000F)
        #expect(parsed.product == 0x1200)
        #expect(parsed.version == 0x1436)
        #expect(parsed.vendorName == "Broadcom")
        #expect(parsed.description == "bluetooth:v000Fp1200d1436")
    }

    @Test("a USB-assigned Device ID record, lowercase hex")
    func usbSource() throws {
        let parsed = try #require(BluetoothModalias("usb:v1d6bp0246d0542"))
        #expect(parsed == BluetoothModalias(source: .usb, vendor: 0x1D6B, product: 0x0246, version: 0x0542))
        #expect(parsed.vendorName == "Linux Foundation")
        #expect(parsed.description == "usb:v1D6Bp0246d0542")
    }

    @Test("an unknown vendor parses but has no name")
    func unknownVendor() {
        #expect(BluetoothModalias("bluetooth:vFFFEp0001d0001")?.vendorName == nil)
    }

    @Test(
        "malformed modaliases are refused",
        arguments: ["", "bluetooth:", "pci:v000Fp1200d1436", "bluetooth:v000Fp1200", "bluetooth:v000Fp1200d14367",
                    "bluetooth:x000Fp1200d1436", "bluetooth:v00GFp1200d1436", "bluetooth:v000F:1200d1436",
                    "bluetoothv000Fp1200d1436"]
    )
    func malformed(text: String) {
        #expect(BluetoothModalias(text) == nil)
    }
}
