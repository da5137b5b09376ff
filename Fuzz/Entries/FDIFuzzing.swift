// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry

/// An FDI profile file (root-owned input, but a packager's or an administrator's typo must never crash the
/// daemon): the XML reader in both whitespace modes, the FDI parser, and the two matchers, which must agree.
enum FDIFuzzing {
    /// Devices the rules of a parsed input are tried on: a Palm on USB, a phone over Bluetooth, nothing at all.
    static let devices: [DeviceProperties] = [
        [
            PropertyKey.infoSubsystem: .string("usb"), PropertyKey.usbVendorID: .int(0x0830),
            PropertyKey.usbProductID: .int(0x0060), PropertyKey.usbInterfaces: .strlist(["ff/00/00"]),
            PropertyKey.usbSerial: .string("PALM0001"), PropertyKey.infoVendor: .string("Palm, Inc."),
        ],
        [
            PropertyKey.infoSubsystem: .string("bluetooth"), PropertyKey.bluetoothClass: .int(0x5a020c),
            PropertyKey.bluetoothName: .string("K750i"), PropertyKey.bluetoothUUIDs: .strlist(["00001104-0000-1000-8000-00805f9b34fb"]),
        ],
        [:],
    ]

    static func run(_ bytes: [UInt8]) -> String? {
        // The reader alone, keeping whitespace (the FDI parser drops indentation): errors are values, not crashes.
        _ = try? XMLReader.parse(bytes, keepingWhitespace: true)
        guard let file = try? FDIParser.parse(bytes, path: "fuzz.fdi") else { return nil }
        // Twice, so that the second copy's conditions are renumbered, as a loader does with a directory of files.
        let again = (try? FDIParser.parse(bytes, path: "again.fdi", firstConditionID: 7)) ?? file
        let profiles = ProfileSet([file, again])
        let sequential = SequentialMatcher(profiles)
        let compiled = CompiledMatcher(profiles)
        for device in devices {
            let expected = sequential.match(device)
            let actual = compiled.match(device)
            if expected != actual {
                return "the compiled matcher differs from the sequential one on \(device): \(actual) instead of \(expected)"
            }
        }
        return nil
    }
}
