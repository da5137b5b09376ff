// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry
import Foundation

/// A generated profile corpus shaped like real FDI: most rules pick a USB device by vendor and product id under
/// `info.subsystem`, some pick by interface class (`usb.interfaces` contains), some Bluetooth devices by
/// modalias, some by a udev property; each merges a handful of `sync.*` properties.
enum RuleCorpus {
    static let vendors: [Int32] = (0..<200).map { 0x0400 + $0 * 7 }

    /// The FDI text of `count` rules split into files of at most `rulesPerFile`.
    static func files(rules count: Int, rulesPerFile: Int = 1_000) -> [String] {
        var files: [String] = []
        var text = ""
        var inFile = 0
        for rule in 0..<count {
            if inFile == 0 { text = "<?xml version=\"1.0\"?>\n<deviceinfo version=\"0.2\">\n" }
            text += device(rule)
            inFile += 1
            if inFile == rulesPerFile || rule == count - 1 {
                text += "</deviceinfo>\n"
                files.append(text)
                inFile = 0
            }
        }
        return files
    }

    static func device(_ rule: Int) -> String {
        let vendor = vendors[rule % vendors.count]
        let product = Int32(rule / vendors.count)
        let hex = { (value: Int32) in "0x" + String(value, radix: 16) }
        switch rule % 20 {
        case 0:
            return """
                <device><match key="usb.interfaces" contains="ff/\(String(rule % 256, radix: 16))/01">
                  <merge key="sync.plugin" type="string">plugin-\(rule)</merge>
                  <addset key="sync.datatypes" type="strlist">files</addset>
                </match></device>

                """
        case 1:
            return """
                <device><match key="info.subsystem" string="bluetooth">
                  <match key="bluetooth.modalias" string="bluetooth:v\(hex(vendor))p\(hex(product))d0001">
                    <merge key="sync.kind" type="string">phone</merge>
                    <merge key="sync.plugin" type="string">syncml-obex-client</merge>
                  </match>
                </match></device>

                """
        case 2:
            return """
                <device><match key="udev.ID_MODEL_ID" string="\(String(rule, radix: 16))">
                  <merge key="sync.kind" type="string">media-player</merge>
                </match></device>

                """
        default:
            return """
                <device><match key="info.subsystem" string="usb">
                  <match key="usb.vendor_id" int="\(hex(vendor))">
                    <match key="usb.product_id" int="\(hex(product))">
                      <merge key="sync.kind" type="string">pda</merge>
                      <merge key="sync.model" type="string">Model \(rule)</merge>
                      <append key="sync.datatypes" type="strlist">contacts</append>
                    </match>
                  </match>
                </match></device>

                """
        }
    }

    /// A device that the corpus knows (vendor 0, product 0 has rules in every corpus size), with the dozen
    /// properties a real USB handheld reports.
    static let device: DeviceProperties = [
        "info.subsystem": .string("usb"),
        "info.vendor": .string("Palm, Inc."),
        "info.product": .string("Palm Handheld"),
        "usb.vendor_id": .int(vendors[3]),
        "usb.product_id": .int(0),
        "usb.device_revision_bcd": .int(0x0100),
        "usb.serial": .string("PALM0123456789"),
        "usb.device_class": .int(0),
        "usb.device_subclass": .int(0),
        "usb.device_protocol": .int(0),
        "usb.interfaces": .strlist(["ff/00/00", "ff/03/01"]),
        "usb.bus_number": .int(1),
        "usb.linux.device_number": .int(7),
        "udev.ID_MODEL_ID": .string("0060"),
    ]

    /// Where ``directory(rules:)`` writes the corpus.
    static func directoryPath(rules count: Int) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("devsync-bench-\(count)-\(getpid())").path
    }

    /// Writes the corpus to a fresh directory and returns it.
    static func directory(rules count: Int) throws -> String {
        let directory = URL(fileURLWithPath: directoryPath(rules: count))
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (number, text) in files(rules: count).enumerated() {
            let name = String(format: "%03d-generated.fdi", number)
            try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return directory.path
    }

    /// Parsed in memory, for the matching benchmarks.
    static func profiles(rules count: Int) -> ProfileSet {
        ProfileSet(files(rules: count).enumerated().map { number, text in
            try! FDIParser.parse(text, path: "generated-\(number).fdi")
        })
    }
}
