// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import DeviceRegistry

@Suite("Where each property came from")
struct PropertySourceTests {
    @Test("explain gives match's outcome and names the last rule that changed each property")
    func explainNamesWriters() throws {
        let set = try profileSet("""
            <device>
              <match key="hwdb.ID_MTP_DEVICE" string="1">
                <merge key="sync.kind" type="string">media-player</merge>
                <merge key="sync.plugin" type="string">mtp</merge>
              </match>
              <match key="kernel.drivers" contains="ipaq">
                <merge key="sync.plugin" type="string">synce</merge>
              </match>
              <match key="usb.vendor_id" int="0x0e8d">
                <merge key="sync.kind" type="string">media-player</merge>
              </match>
            </device>
            """)
        let device: DeviceProperties = [
            "usb.vendor_id": .int(0x0E8D), "hwdb.ID_MTP_DEVICE": .string("1"), "kernel.drivers": .strlist(["ipaq"]),
        ]
        let (outcome, writers) = SequentialMatcher(set).explain(device)
        #expect(outcome == SequentialMatcher(set).match(device))
        #expect(outcome == CompiledMatcher(set).match(device))
        #expect(writers["sync.plugin"] == SourceLocation(file: "test.fdi", line: 7, column: 3))
        // The third rule merged the same value again: it changed nothing, so the first stays the writer.
        #expect(writers["sync.kind"] == SourceLocation(file: "test.fdi", line: 3, column: 3))
        #expect(writers["usb.vendor_id"] == nil, "a raw property no rule changed has no profile writer")
    }

    @Test("a raw property's prefix names its source", arguments: [
        ("udev.ID_MTP_DEVICE", PropertySource.udev), ("hwdb.ID_GPHOTO2", .hardwareDatabase(modalias: "")),
        ("mpi.device.AccessProtocol", .mediaPlayerInfo(file: "")), ("kernel.drivers", .kernelTable(file: "", line: 0)),
        ("libmtp.product", .libmtp(library: "")), ("bluetooth.address", .bluez), ("usb.vendor_id", .sysfs), ("sysfs.interface.drivers", .sysfs),
    ])
    func implied(key: String, source: PropertySource) {
        #expect(PropertySource.implied(byKey: key) == source)
    }

    @Test("sources read as --explain prints them")
    func descriptions() {
        #expect(PropertySource.kernelTable(file: "/lib/modules/6.1/modules.alias", line: 12).description
                == "kernel /lib/modules/6.1/modules.alias:12")
        #expect(PropertySource.profile(SourceLocation(file: "10-palm.fdi", line: 4, column: 5)).description == "profile 10-palm.fdi:4:5")
        #expect(PropertySource.hardwareDatabase(modalias: "usb:v0830p0060").description == "hwdb usb:v0830p0060")
        #expect(PropertySource.commandLine.description == "command line")
        #expect(PropertySource.libmtp(library: "libmtp.so.9").description == "libmtp libmtp.so.9")
    }
}
