// SPDX-License-Identifier: Apache-2.0
import DevsyncTestSupport
import Foundation
import Testing

/// Runs the committed rules through udev's own rules engine: `udevadm test` on fake devices (umockdev-run), with
/// the distribution's rules in /usr/lib/udev/rules.d and ours in place of /etc/udev/rules.d, inside a private
/// mount namespace whose /run is a tmpfs (udevadm test writes the udev database there, never the host's).
///
/// Needs root (for the namespace), udevadm (Debian's udev) and umockdev-run; skipped without them. Debian 12's
/// udevadm (systemd 252) has no `verify`; its `test` reports a rules line it cannot parse as
/// "<file>:<line> Invalid …, ignoring", which this test also checks for.
enum UdevadmRun {
    static let udevadm = ["/usr/bin/udevadm", "/bin/udevadm", "/sbin/udevadm"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let umockdevRun = ["/usr/bin/umockdev-run"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let rulesDirectory = "/etc/udev/rules.d"

    static var available: Bool {
        getuid() == 0 && udevadm != nil && umockdevRun != nil && FileManager.default.fileExists(atPath: rulesDirectory)
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")
    }

    /// The outcome of one device's `udevadm test`.
    struct Result {
        /// The device's tags after every rules file ran (TAGS=).
        var tags: Set<String>
        /// Everything udevadm printed.
        var log: String

        /// Whether the device's final SYSTEMD_WANTS names `unit`.
        func wants(_ unit: String) -> Bool {
            log.split(separator: "\n").contains { $0.hasPrefix("SYSTEMD_WANTS=") && $0.split(separator: " ").contains { $0.hasSuffix(unit) } }
        }
    }

    /// `udevadm test --action=<action>` for each syspath in turn (parents first: a later one sees the earlier
    /// ones' database entries, as udevd's event order guarantees), over the devices of `umockdev`. Without
    /// `ourRules`, only the distribution's rules run: the baseline a test compares with, since which packages'
    /// rules are installed (libgphoto2, libmtp, usbmuxd tag devices too) differs from machine to machine.
    static func test(_ syspaths: [String], action: String = "add", umockdev: String, ourRules: Bool = true) async throws -> [Result] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("devsync-udevadm-\(UUID())")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("rules"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        if ourRules {
            try FileManager.default.copyItem(at: repository.appendingPathComponent("rules/70-devsync.rules"),
                                             to: directory.appendingPathComponent("rules/70-devsync.rules"))
        }
        try Data(umockdev.utf8).write(to: directory.appendingPathComponent("devices.umockdev"))
        let separator = "=== devsync udevadm test ==="
        var script = """
            set -e
            mount -t tmpfs devsync-run /run
            mount --bind '\(directory.path)/rules' \(rulesDirectory)

            """
        for syspath in syspaths {
            script += """
                \(umockdevRun!) --device='\(directory.path)/devices.umockdev' -- \(udevadm!) test --action=\(action) '\(syspath)' 2>&1 || true
                echo '\(separator)'

                """
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = ["--mount", "--propagation", "private", "/bin/sh", "-c", script]
        let output = directory.appendingPathComponent("output")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        // Waited for on a thread of its own: udevadm takes seconds under load, and a pool thread blocked that long
        // starves every other test (see onOwnThread).
        let status = try await onOwnThread {
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus
        }
        try handle.close()
        let text = try String(contentsOf: output, encoding: .utf8)
        #expect(status == 0, "\(text)")
        return text.components(separatedBy: separator + "\n").dropLast().map { log in
            let tags = log.split(separator: "\n").last { $0.hasPrefix("TAGS=") }.map {
                Set($0.dropFirst("TAGS=".count).split(separator: ":").map(String.init))
            } ?? []
            #expect(log.contains("\nACTION=\(action)\n"), "udevadm test did not run: \(log)")
            return Result(tags: tags, log: log)
        }
    }
}

/// A umockdev description of a usb_device below a host controller, with `properties` as udev's earlier rules
/// and builtins would have set them; descriptions are joined by an empty line.
func usbDevice(_ port: String, product: String, deviceClass: String = "ff", properties: [String] = []) -> String {
    let parts = product.split(separator: "/").map(String.init)
    let pad = { (text: String) in String(repeating: "0", count: max(0, 4 - text.count)) + text }
    return ([
        "P: /devices/pci0000:00/0000:00:14.0/usb1/\(port)",
        "E: DEVTYPE=usb_device", "E: DRIVER=usb", "E: PRODUCT=\(product)",
        "E: TYPE=\(Int(deviceClass, radix: 16) ?? 0)/0/0", "E: SUBSYSTEM=usb",
    ] + properties.map { "E: \($0)" } + [
        "A: idVendor=\(pad(parts[0]))", "A: idProduct=\(pad(parts[1]))", "A: bcdDevice=\(pad(parts[2]))",
        "A: bDeviceClass=\(deviceClass)",
    ]).joined(separator: "\n") + "\n\n"
}

/// The syspath of `usbDevice(port, …)`.
func syspath(_ port: String) -> String { "/sys/devices/pci0000:00/0000:00:14.0/usb1/\(port)" }

@Suite("70-devsync.rules in udev's own rules engine", .enabled(if: UdevadmRun.available, "needs root, udevadm and umockdev-run"))
struct UdevadmRulesTests {
    @Test("the rules parse: udevadm reports no line of 70-devsync.rules it had to ignore")
    func parses() async throws {
        let results = try await UdevadmRun.test([syspath("1-1")], umockdev: usbDevice("1-1", product: "1234/5678/100"))
        let log = try #require(results.first).log
        #expect(log.contains("Reading rules file: \(UdevadmRun.rulesDirectory)/70-devsync.rules"), "\(log)")
        let complaints = log.split(separator: "\n").filter { $0.hasPrefix("\(UdevadmRun.rulesDirectory)/70-devsync.rules:") }
        #expect(complaints.isEmpty, "\(complaints)")
    }

    @Test("a device a profile names gets devsync, uaccess (so 71-seat.rules adds seat) and systemd, and so does its tty")
    func namedDevice() async throws {
        // A Palm m500 (10-palm.fdi) with its usb-serial port, as the visor driver binds it.
        let tty = syspath("1-2") + "/1-2:1.0/ttyUSB1/tty/ttyUSB1"
        let results = try await UdevadmRun.test([syspath("1-2"), tty], umockdev: usbDevice("1-2", product: "830/2/100") + """
            P: /devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0
            E: DEVTYPE=usb_interface
            E: SUBSYSTEM=usb
            E: PRODUCT=830/2/100
            E: INTERFACE=255/0/0
            A: bInterfaceClass=ff

            P: /devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/ttyUSB1
            E: SUBSYSTEM=usb-serial

            P: /devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/ttyUSB1/tty/ttyUSB1
            E: SUBSYSTEM=tty

            """)
        try #require(results.count == 2)
        #expect(results[0].tags.isSuperset(of: ["devsync", "uaccess", "seat", "systemd"]), "\(results[0].log)")
        #expect(results[0].wants("devsyncd.service"), "\(results[0].log)")
        #expect(results[1].tags.isSuperset(of: ["uaccess", "seat"]), "\(results[1].log)")
    }

    @Test("class rules: a CDC OBEX phone, an MTP player and RNDIS are recognised; an ID_PDA calculator, a Nokia modem and a plain device are not")
    func classes() async throws {
        let syspaths = ["1-3", "1-4", "1-5", "1-6", "1-7", "1-9", "1-10"].map(syspath)
        let devices = usbDevice("1-3", product: "1234/1/100", deviceClass: "02", properties: ["ID_USB_INTERFACES=:020b00:0a0000:"])
            + usbDevice("1-4", product: "1234/2/100", properties: ["ID_MTP_DEVICE=1", "ID_USB_INTERFACES=:060101:"])
            + usbDevice("1-5", product: "1234/3/100", properties: ["ID_PDA=1", "ID_USB_INTERFACES=:ff0000:"])
            + usbDevice("1-6", product: "1234/4/100", properties: ["ID_USB_INTERFACES=:030101:"])
            // The Apple T2 coprocessor: 10-apple.fdi ignores it, though it presents a PTP interface.
            + usbDevice("1-7", product: "5ac/8600/100", properties: ["ID_USB_INTERFACES=:060101:"])
            // A Windows Mobile device's RNDIS, and a Nokia phone's modem, which the kernel's cdc_acm binds.
            + usbDevice("1-9", product: "1234/5/100", deviceClass: "ef", properties: ["ID_USB_INTERFACES=:0202ff:0a0000:"])
            + usbDevice("1-10", product: "421/fff0/100", deviceClass: "02", properties: ["ID_USB_INTERFACES=:0202ff:0a0000:"])
        async let withOurs = UdevadmRun.test(syspaths, umockdev: devices)
        async let withoutOurs = UdevadmRun.test(syspaths, umockdev: devices, ourRules: false)
        let (results, baseline) = try await (withOurs, withoutOurs)
        try #require(baseline.count == 7 && results.count == 7)
        for result in [results[0], results[1], results[5]] {
            #expect(result.tags.isSuperset(of: ["devsync", "uaccess", "systemd"]), "\(result.log)")
        }
        // Not ours: no tag beyond what the distribution's own rules give the device, and no devsyncd.service.
        for index in [2, 3, 4, 6] {
            #expect(!results[index].tags.contains("devsync"), "\(results[index].log)")
            #expect(results[index].tags.isSubset(of: baseline[index].tags), "\(results[index].log)")
            #expect(!results[index].wants("devsyncd.service"), "\(results[index].log)")
        }
    }

    @Test("libgphoto2's MTP devices are recognised by its hwdb keys; a TI calculator, ID_PDA in systemd's hwdb, is not")
    func databaseKeys() async throws {
        let results = try await UdevadmRun.test(
            ["1-12", "1-13"].map(syspath),
            umockdev: usbDevice("1-12", product: "502/3325/100", properties: ["GPHOTO2_DRIVER=PTP", "ID_GPHOTO2=1", "ID_MEDIA_PLAYER=1"])
                // A TI-84 Plus: udev's hwdb builtin gives it ID_PDA=1 from 70-pda.hwdb; nothing syncs it.
                + usbDevice("1-13", product: "451/e008/100", properties: ["ID_PDA=1", "ID_USB_INTERFACES=:ff0000:"]))
        try #require(results.count == 2)
        #expect(results[0].tags.isSuperset(of: ["devsync", "uaccess", "systemd"]), "\(results[0].log)")
        #expect(results[1].tags.isDisjoint(with: ["devsync", "uaccess"]), "\(results[1].log)")
        #expect(!results[1].log.contains("devsyncd.service"), "\(results[1].log)")
    }

    @Test("an interface the kernel's ipaq or visor driver binds starts devsyncd and its tty is the seat's, with no id line")
    func kernelDriverBinds() async throws {
        func interface(_ port: String, driver: String, tty: String) -> String {
            usbDevice(port, product: "3f0/1216/0") + """
                P: /devices/pci0000:00/0000:00:14.0/usb1/\(port)/\(port):1.0
                E: DEVTYPE=usb_interface
                E: SUBSYSTEM=usb
                E: PRODUCT=3f0/1216/0
                E: INTERFACE=255/0/0
                A: bInterfaceClass=ff
                L: driver=../../../../../../bus/usb/drivers/\(driver)

                P: /devices/pci0000:00/0000:00:14.0/usb1/\(port)/\(port):1.0/\(tty)
                E: SUBSYSTEM=usb-serial
                L: driver=../../../../../../../bus/usb-serial/drivers/\(driver)

                P: /devices/pci0000:00/0000:00:14.0/usb1/\(port)/\(port):1.0/\(tty)/tty/\(tty)
                E: SUBSYSTEM=tty


                """
        }
        let devices = interface("1-14", driver: "ipaq", tty: "ttyUSB0") + interface("1-15", driver: "usbserial_generic", tty: "ttyUSB1")
        let results = try await UdevadmRun.test(
            [syspath("1-14") + "/1-14:1.0", syspath("1-15") + "/1-15:1.0"], action: "bind", umockdev: devices)
        try #require(results.count == 2)
        #expect(results[0].tags.isSuperset(of: ["devsync", "systemd"]), "\(results[0].log)")
        #expect(results[0].log.contains("SYSTEMD_WANTS=devsyncd.service"), "\(results[0].log)")
        #expect(results[1].tags.isDisjoint(with: ["devsync", "systemd"]), "\(results[1].log)")
        // Their ttys, added (in the kernel's order) before the interface's bind event was handled.
        let ttys = try await UdevadmRun.test(
            [("1-14", "ttyUSB0"), ("1-15", "ttyUSB1")].map { syspath($0) + "/\($0):1.0/\($1)/tty/\($1)" }, umockdev: devices)
        try #require(ttys.count == 2)
        #expect(ttys[0].tags.isSuperset(of: ["uaccess", "seat"]), "\(ttys[0].log)")
        #expect(ttys[1].tags.isDisjoint(with: ["uaccess"]), "\(ttys[1].log)")
    }

    @Test("ENV{ID_DEVSYNC_IGNORE}=1 from an earlier rule hides a device the profiles name")
    func ignoreProperty() async throws {
        let results = try await UdevadmRun.test([syspath("1-8")], umockdev: usbDevice("1-8", product: "830/2/100", properties: ["ID_DEVSYNC_IGNORE=1"]))
        #expect(try #require(results.first).tags.isDisjoint(with: ["devsync", "uaccess"]))
    }
}
