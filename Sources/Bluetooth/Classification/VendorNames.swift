// SPDX-License-Identifier: Apache-2.0
/// The few vendor ids devsync names itself: makers of sync-capable phones and PDAs and of the common radio
/// chips. Anything else is published by id only; a profile can name it (`docs/profiles.md`).
enum VendorNames {
    static func name(source: BluetoothModalias.Source, vendor: UInt16) -> String? {
        switch source {
        case .bluetooth: bluetoothCompanies[vendor]
        case .usb: usbVendors[vendor]
        }
    }

    /// Bluetooth SIG company identifiers (Assigned Numbers, "Company Identifiers").
    static let bluetoothCompanies: [UInt16: String] = [
        0x0000: "Ericsson",
        0x0001: "Nokia",
        0x0002: "Intel",
        0x0003: "IBM",
        0x0004: "Toshiba",
        0x0006: "Microsoft",
        0x0008: "Motorola",
        0x000A: "Qualcomm Technologies International (CSR)",
        0x000D: "Texas Instruments",
        0x000F: "Broadcom",
        0x001D: "Qualcomm",
        0x0046: "MediaTek",
        0x004C: "Apple",
        0x0056: "Sony Ericsson",
        0x0075: "Samsung",
        0x00E0: "Google",
    ]

    /// USB-IF vendor ids.
    static let usbVendors: [UInt16: String] = [
        0x0421: "Nokia",
        0x045E: "Microsoft",
        0x04E8: "Samsung",
        0x054C: "Sony",
        0x05AC: "Apple",
        0x0830: "Palm",
        0x0A12: "Cambridge Silicon Radio",
        0x0BB4: "HTC",
        0x0FCE: "Sony Ericsson",
        0x1004: "LG Electronics",
        0x18D1: "Google",
        0x1D6B: "Linux Foundation",
        0x22B8: "Motorola",
    ]
}
